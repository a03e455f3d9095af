#include "gateway/audit/syslog_format.hpp"

namespace dockgate::audit {

namespace {

constexpr unsigned severity_notice = 5;
constexpr unsigned severity_info = 6;

void sd_param(std::string& out, std::string_view name, std::string_view value) {
    out += ' ';
    out += name;
    out += "=\"";
    out += escape_sd_value(value);
    out += '"';
}

} // namespace

std::string escape_sd_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '"' || c == '\\' || c == ']')
            out += '\\';
        out += c;
    }
    return out;
}

std::string sanitize_hostname(std::string_view name) {
    std::string out(name.substr(0, 255));
    for (char& c : out) {
        auto const u = static_cast<unsigned char>(c);
        if (u <= ' ' || u >= 0x7f)
            c = '_';
    }
    return out.empty() ? "-" : out;
}

std::string format_syslog(syslog_origin const& origin, audit_record const& r,
                          std::string_view json) {
    unsigned const severity =
        r.decision == policy::outcome::allow ? severity_info : severity_notice;
    std::string out;
    out.reserve(json.size() + 160);
    out += '<';
    out += std::to_string(origin.facility * 8 + severity);
    out += ">1 ";
    out += format_time(r.time);
    out += ' ';
    out += origin.hostname.empty() ? std::string("-") : origin.hostname;
    out += " dockgate ";
    out += std::to_string(origin.pid);
    out += " - [";
    out += sd_id;
    sd_param(out, "user", r.who != nullptr ? std::string_view(r.who->user) : std::string_view());
    sd_param(out, "operation", r.operation);
    sd_param(out, "decision", policy::outcome_name(r.decision));
    out += "] ";
    out += json;
    return out;
}

std::string octet_frame(std::string_view message) {
    std::string out = std::to_string(message.size());
    out += ' ';
    out += message;
    return out;
}

} // namespace dockgate::audit
