#include "gateway/audit/audit_log.hpp"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <sys/stat.h>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "gateway/http/local_reply.hpp"

namespace dockgate::audit {

using http::append_json_string;

namespace {

void field(std::string& out, char const* name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":";
    append_json_string(out, value);
}

void field(std::string& out, char const* name, std::uint64_t value) {
    out += ",\"";
    out += name;
    out += "\":";
    out += std::to_string(value);
}

void list(std::string& out, char const* name, std::vector<std::string> const* values) {
    out += ",\"";
    out += name;
    out += "\":[";
    if (values != nullptr) {
        for (std::size_t i = 0; i < values->size(); ++i) {
            if (i != 0)
                out += ',';
            append_json_string(out, (*values)[i]);
        }
    }
    out += ']';
}

// Registered loggers need unique names; a reload may briefly hold two audit logs.
std::string next_name() {
    static std::atomic<unsigned> counter{0};
    return "audit-" + std::to_string(counter++);
}

} // namespace

std::string format_time(std::chrono::system_clock::time_point t) {
    auto const secs = std::chrono::system_clock::to_time_t(t);
    auto const ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    (void)std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        static_cast<int>(ms));
    return buf;
}

std::string format_record(audit_record const& r) {
    std::string out;
    out.reserve(512);
    out += "{\"time\":\"";
    out += format_time(r.time);
    out += '"';
    field(out, "conn", r.connection);
    if (r.who != nullptr) {
        field(out, "transport", r.who->transport);
        field(out, "peer", r.who->peer);
        field(out, "user", r.who->user);
        list(out, "groups", &r.who->groups);
        field(out, "credential", r.who->credential);
    }
    list(out, "roles", r.roles);
    field(out, "operation", r.operation);
    field(out, "method", r.method);
    field(out, "path", r.path);
    field(out, "decision", policy::outcome_name(r.decision));
    field(out, "role", r.role);
    field(out, "rule", r.rule);
    if (!r.reason.empty())
        field(out, "reason", r.reason);
    if (!r.request.empty()) {
        out += ",\"request\":";
        out += r.request;
    }
    field(out, "status", static_cast<std::uint64_t>(r.status));
    field(out, "bytes_in", r.bytes_in);
    field(out, "bytes_out", r.bytes_out);
    auto const us = std::chrono::duration_cast<std::chrono::microseconds>(r.elapsed).count();
    out += ",\"duration_ms\":";
    out += std::to_string(us / 1000) + '.' + std::to_string(1000 + us % 1000).substr(1);
    out += '}';
    return out;
}

audit_log::audit_log(std::string const& target) {
    if (target == "-") {
        logger_ = std::make_shared<spdlog::logger>(
            next_name(), std::make_shared<spdlog::sinks::stdout_sink_mt>());
    } else {
        auto const old = ::umask(027);
        auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(target, false);
        ::umask(old);
        logger_ = std::make_shared<spdlog::logger>(next_name(), std::move(sink));
    }
    logger_->set_pattern("%v");
    logger_->set_level(spdlog::level::info);
    // One write per record: a reader (tail -f | jq, a shipper) never sees half a line, and a
    // crash loses no decision that was already made.
    logger_->flush_on(spdlog::level::info);
    spdlog::register_logger(logger_);
}

audit_log::~audit_log() {
    logger_->flush();
    spdlog::drop(logger_->name());
}

void audit_log::write(audit_record const& r) {
    auto const line = format_record(r);
    logger_->info(line);
    if (copy_)
        copy_(r, line);
}

void audit_log::flush() {
    logger_->flush();
}

} // namespace dockgate::audit
