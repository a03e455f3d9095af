#include "gateway/http/canonical_target.hpp"

#include <array>
#include <optional>

namespace dockgate::http {
namespace {

// Bytes that mean the same to the daemon raw or percent-encoded in a path: RFC 3986
// pchar without pct-encoded (Go decodes only %XX in a path; '+' stays '+').
constexpr auto pchar_table = [] {
    std::array<bool, 256> table{};
    for (int c = 0; c < 256; ++c) {
        table[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }
    for (const char c : std::string_view{"-._~!$&'()*+,;=:@"}) {
        table[static_cast<unsigned char>(c)] = true;
    }
    return table;
}();

bool is_pchar(unsigned char c) {
    return pchar_table[c];
}

bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// The %XX at s[i] (s[i] == '%'), or nullopt if malformed.
std::optional<unsigned char> escape_at(std::string_view s, std::size_t i) {
    if (i + 2 >= s.size()) {
        return std::nullopt;
    }
    const int hi = hex_value(s[i + 1]);
    const int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) {
        return std::nullopt;
    }
    return static_cast<unsigned char>(hi * 16 + lo);
}

constexpr char hex_digits[] = "0123456789ABCDEF";

std::string describe(unsigned char c) {
    std::string out = "0x";
    out += hex_digits[c >> 4];
    out += hex_digits[c & 0xf];
    if (c > 0x20 && c < 0x7f) {
        out += " '";
        out += static_cast<char>(c);
        out += '\'';
    }
    return out;
}

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t length = 0;
        unsigned char low = 0x80;
        unsigned char high = 0xbf;
        if (c < 0x80) {
            ++i;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            length = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            length = 3;
            low = c == 0xe0 ? 0xa0 : 0x80;
            high = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
            length = 4;
            low = c == 0xf0 ? 0x90 : 0x80;
            high = c == 0xf4 ? 0x8f : 0xbf;
        } else {
            return false;
        }
        if (i + length > s.size()) {
            return false;
        }
        for (std::size_t k = 1; k < length; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if (b < (k == 1 ? low : 0x80) || b > (k == 1 ? high : 0xbf)) {
                return false;
            }
        }
        i += length;
    }
    return true;
}

// Decodes one raw path segment exactly once into `out`; returns an error reason or "".
std::string decode_segment(std::string_view raw, std::size_t index, std::string& out) {
    const auto where = [index] {
        return " in path segment " + std::to_string(index);
    };
    if (raw.empty()) {
        return "empty path segment ('//' or trailing '/')";
    }
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        auto c = static_cast<unsigned char>(raw[i]);
        if (c == '%') {
            const auto decoded = escape_at(raw, i);
            if (!decoded) {
                return "malformed percent-escape" + where();
            }
            c = *decoded;
            i += 2;
            if (c == '/') {
                return "encoded '/'" + where();
            }
        } else if (c != '\\' && !is_control(c) && !is_pchar(c)) {
            return "character " + describe(c) + " must be percent-encoded" + where();
        }
        // Go does not treat '\' as a separator, but other tools do: keep it unambiguous.
        if (c == '\\') {
            return "'\\' (raw or encoded)" + where();
        }
        if (is_control(c)) {
            return "control character " + describe(c) + where();
        }
        out.push_back(static_cast<char>(c));
    }
    if (out == "." || out == "..") {
        return "dot segment '" + out + "'" + where();
    }
    if (!valid_utf8(out)) {
        return "invalid UTF-8" + where();
    }
    return {};
}

// moby's route prefix is /v{version:[0-9.]+}: a first segment of that shape is a
// version to the daemon, so it must be a sane MAJOR.MINOR or the request is refused.
bool looks_like_version(std::string_view segment) {
    return segment.size() > 1 && segment.front() == 'v' &&
           segment.substr(1).find_first_not_of("0123456789.") == std::string_view::npos;
}

bool is_major_minor(std::string_view v) {
    const auto dot = v.find('.');
    if (dot == std::string_view::npos) {
        return false;
    }
    const auto major = v.substr(0, dot);
    const auto minor = v.substr(dot + 1);
    const auto digits = [](std::string_view d) {
        return !d.empty() && d.size() <= 3 && d.find_first_not_of("0123456789") == d.npos;
    };
    return digits(major) && digits(minor);
}

// Keeps what the daemon reads the same raw or encoded; escapes the rest, so Go's one
// decoding of the forwarded path yields exactly the checked segment.
void append_encoded(std::string& out, std::string_view segment) {
    for (const char ch : segment) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_pchar(c)) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(hex_digits[c >> 4]);
            out.push_back(hex_digits[c & 0xf]);
        }
    }
}

// The query is forwarded verbatim, so it only has to be well-formed. '[' and ']' are
// allowed: clients send them and Go reads them as plain data.
std::string check_query(std::string_view query) {
    for (std::size_t i = 0; i < query.size(); ++i) {
        const auto c = static_cast<unsigned char>(query[i]);
        if (c == '%') {
            if (!escape_at(query, i)) {
                return "malformed percent-escape in query";
            }
            i += 2;
        } else if (!is_pchar(c) && c != '/' && c != '?' && c != '[' && c != ']') {
            return "character " + describe(c) + " must be percent-encoded in query";
        }
    }
    return {};
}

target_error fail(std::string reason) {
    return target_error{std::move(reason)};
}

} // namespace

std::string canonical_target::target() const {
    return query.empty() ? path : path + '?' + query;
}

std::string encode_path_segment(std::string_view segment) {
    std::string out;
    append_encoded(out, segment);
    return out;
}

void canonical_target::replace_segment(std::size_t index, std::string value) {
    segments.at(index) = std::move(value);
    rebuild_path();
}

void canonical_target::rebuild_path() {
    path.clear();
    if (!api_version.empty()) {
        path.append("/v").append(api_version);
    }
    for (const auto& segment : segments) {
        path.push_back('/');
        append_encoded(path, segment);
    }
    if (path.empty()) {
        path.push_back('/');
    }
}

std::variant<canonical_target, target_error> canonicalize_target(std::string_view raw) {
    if (raw.size() > max_target_length) {
        return fail("request target longer than " + std::to_string(max_target_length) + " bytes");
    }
    if (raw.empty()) {
        return fail("empty request target");
    }
    if (raw.front() != '/') {
        if (raw == "*") {
            return fail("asterisk-form target '*' not allowed");
        }
        if (raw.find("://") != std::string_view::npos) {
            return fail("absolute-form target not allowed; send the path only");
        }
        return fail("request target must start with '/' (origin-form)");
    }
    if (raw.find('#') != std::string_view::npos) {
        return fail("fragment '#' in request target");
    }

    const auto question = raw.find('?');
    const auto raw_path = raw.substr(0, question);
    canonical_target result;
    if (question != std::string_view::npos) {
        result.query = raw.substr(question + 1);
        if (auto reason = check_query(result.query); !reason.empty()) {
            return fail(std::move(reason));
        }
    }

    // "/" alone is the only path that may end in '/'; it has no segments.
    if (raw_path.size() > 1) {
        std::string_view rest = raw_path.substr(1);
        for (std::size_t index = 1;; ++index) {
            const auto slash = rest.find('/');
            std::string decoded;
            if (auto reason = decode_segment(rest.substr(0, slash), index, decoded);
                !reason.empty()) {
                return fail(std::move(reason));
            }
            result.segments.push_back(std::move(decoded));
            if (slash == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(slash + 1);
        }
    }

    if (!result.segments.empty() && looks_like_version(result.segments.front())) {
        const std::string_view version = std::string_view(result.segments.front()).substr(1);
        if (!is_major_minor(version)) {
            return fail("malformed API version '" + result.segments.front() +
                        "'; expected /vMAJOR.MINOR such as /v1.41");
        }
        result.api_version = version;
        result.segments.erase(result.segments.begin());
    }
    result.path.reserve(raw_path.size() + 16);
    result.rebuild_path();
    return result;
}

} // namespace dockgate::http
