#include "gateway/inspect/go_fold.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace dockgate::inspect {

namespace {

struct fold_pair {
    std::uint32_t from;
    std::uint32_t to;
};

constexpr fold_pair fold_table[] = {
#include "gateway/inspect/go_fold_table.inc"
};

static_assert(std::size(fold_table) > 1000, "the generated fold table looks truncated");

} // namespace

std::optional<char32_t> decode_utf8(std::string_view s, std::size_t& pos) noexcept {
    if (pos >= s.size())
        return std::nullopt;
    auto const b0 = static_cast<unsigned char>(s[pos]);
    if (b0 < 0x80) {
        ++pos;
        return b0;
    }
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
        len = 2;
        cp = b0 & 0x1F;
        min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3;
        cp = b0 & 0x0F;
        min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4;
        cp = b0 & 0x07;
        min = 0x10000;
    } else {
        return std::nullopt; // continuation byte or 0xF8..0xFF
    }
    if (s.size() - pos < len)
        return std::nullopt;
    for (std::size_t i = 1; i < len; ++i) {
        auto const b = static_cast<unsigned char>(s[pos + i]);
        if ((b & 0xC0) != 0x80)
            return std::nullopt;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return std::nullopt;
    pos += len;
    return cp;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

bool valid_utf8(std::string_view s) noexcept {
    for (std::size_t pos = 0; pos < s.size();) {
        if (!decode_utf8(s, pos))
            return false;
    }
    return true;
}

char32_t fold_rune(char32_t cp) noexcept {
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') ? cp - ('a' - 'A') : cp;
    auto const it = std::lower_bound(std::begin(fold_table), std::end(fold_table), cp,
                                     [](fold_pair const& p, char32_t v) { return p.from < v; });
    if (it != std::end(fold_table) && it->from == cp)
        return it->to;
    return cp;
}

namespace {

// The next folded rune of `s` at `pos`; an invalid byte stands for itself, offset so that it
// cannot equal a valid rune.
char32_t next_folded(std::string_view s, std::size_t& pos) noexcept {
    if (auto cp = decode_utf8(s, pos))
        return fold_rune(*cp);
    return 0x110000 + static_cast<unsigned char>(s[pos++]);
}

} // namespace

std::string fold_key(std::string_view key) {
    std::string out;
    out.reserve(key.size());
    for (std::size_t pos = 0; pos < key.size();) {
        std::size_t const start = pos;
        if (auto cp = decode_utf8(key, pos))
            append_utf8(out, fold_rune(*cp));
        else
            out += key[start], pos = start + 1;
    }
    return out;
}

bool fold_equal(std::string_view a, std::string_view b) noexcept {
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < a.size() && j < b.size()) {
        if (next_folded(a, i) != next_folded(b, j))
            return false;
    }
    return i == a.size() && j == b.size();
}

} // namespace dockgate::inspect
