#include "gateway/inspect/go_query.hpp"

#include <algorithm>

#include "gateway/inspect/go_fold.hpp"

namespace dockgate::inspect {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// url.QueryUnescape: '+' is a space, "%XX" a byte; a '%' not followed by two hex digits fails.
std::optional<std::string> query_unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char const c = s[i];
        if (c == '+') {
            out += ' ';
        } else if (c == '%') {
            if (i + 2 >= s.size())
                return std::nullopt;
            int const hi = hex_digit(s[i + 1]);
            int const lo = hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0)
                return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

// unicode.IsSpace, which strings.TrimSpace uses.
bool go_space(char32_t r) {
    switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return r >= 0x2000 && r <= 0x200A;
    }
}

// The runes of `s` with Unicode space (strings.TrimSpace) trimmed; invalid bytes become U+FFFD.
std::u32string trimmed_runes(std::string_view s) {
    std::u32string runes;
    for (std::size_t pos = 0; pos < s.size();) {
        if (auto cp = decode_utf8(s, pos))
            runes += *cp;
        else
            runes += U'\xFFFD', ++pos;
    }
    std::size_t b = 0;
    std::size_t e = runes.size();
    while (b < e && go_space(runes[b]))
        ++b;
    while (e > b && go_space(runes[e - 1]))
        --e;
    return runes.substr(b, e - b);
}

} // namespace

std::variant<std::vector<query_param>, std::string> parse_go_query(std::string_view raw) {
    std::vector<query_param> out;
    while (!raw.empty()) {
        auto const amp = raw.find('&');
        std::string_view pair = raw.substr(0, amp);
        raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
        if (pair.find(';') != std::string_view::npos)
            return std::string("';' in the query (Go refuses it as a separator; encode it as %3B)");
        if (pair.empty())
            continue;
        auto const eq = pair.find('=');
        auto key = query_unescape(pair.substr(0, eq));
        auto value =
            query_unescape(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (!key || !value)
            return std::string("malformed %-escape in the query");
        out.push_back({std::move(*key), std::move(*value)});
    }
    return out;
}

std::string encode_go_query(std::span<query_param const> query) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    auto const escape = [&](std::string_view s) {
        for (unsigned char c : s) {
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == '~') {
                out += static_cast<char>(c);
            } else {
                out += '%';
                out += hex[c >> 4];
                out += hex[c & 15];
            }
        }
    };
    for (auto const& p : query) {
        if (!out.empty())
            out += '&';
        escape(p.key);
        out += '=';
        escape(p.value);
    }
    return out;
}

std::optional<std::string_view> query_get(std::span<query_param const> query,
                                          std::string_view key) noexcept {
    for (auto const& p : query) {
        if (p.key == key)
            return std::string_view(p.value);
    }
    return std::nullopt;
}

std::size_t query_count(std::span<query_param const> query, std::string_view key) noexcept {
    return static_cast<std::size_t>(std::count_if(
        query.begin(), query.end(), [&](query_param const& p) { return p.key == key; }));
}

bool go_form_bool(std::string_view value) {
    // strings.ToLower maps only U+0130 and U+212A from outside ASCII into it ('i', 'k'), and no
    // false word has either letter: any non-ASCII rune makes the value true, as in Go.
    std::string lowered;
    for (char32_t r : trimmed_runes(value)) {
        if (r >= 0x80)
            return true;
        lowered += static_cast<char>((r >= 'A' && r <= 'Z') ? r + ('a' - 'A') : r);
    }
    return !(lowered.empty() || lowered == "0" || lowered == "no" || lowered == "false" ||
             lowered == "none");
}

bool is_form_content_type(std::string_view content_type) {
    // mime.ParseMediaType trims Unicode space and lower-cases with Unicode rules ("İ" becomes
    // 'i'); folding is a superset of that, so a spelling Go would accept is never missed.
    std::string folded;
    for (char32_t r : trimmed_runes(content_type.substr(0, content_type.find(';'))))
        append_utf8(folded, fold_rune(r));
    return folded == "APPLICATION/X-WWW-FORM-URLENCODED" || folded.rfind("MULTIPART/", 0) == 0;
}

} // namespace dockgate::inspect
