#include "config/ssh_keys.hpp"

#include <algorithm>
#include <array>

namespace dockgate::config {

namespace {

constexpr std::array<std::string_view, 5> key_types = {
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"};

// The separators an authorized_keys line may use between its fields, as std::isspace in the
// C locale (what `istream >>` used to split on here).
bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool is_base64(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

// The next blank-separated field of `rest`, which is advanced past it.
std::string_view next_field(std::string_view& rest) {
    auto const begin = std::find_if_not(rest.begin(), rest.end(), is_blank);
    auto const end = std::find_if(begin, rest.end(), is_blank);
    std::string_view const field(begin, end);
    rest = std::string_view(end, rest.end());
    return field;
}

} // namespace

std::optional<std::string> parse_ssh_key_line(std::string_view line, std::string& why) {
    auto const type = next_field(line);
    auto const blob = next_field(line);
    if (std::find(key_types.begin(), key_types.end(), type) == key_types.end()) {
        // Built piecewise: `"..." + std::string(...)` trips GCC 12's -Wrestrict false positive
        // (GCC bug 105651).
        std::string message(1, '"');
        message += type.substr(0, 40);
        message += "\" is not a supported key type (ssh-ed25519, ecdsa-sha2-nistp256/384/521, "
                   "ssh-rsa; authorized_keys options are not supported)";
        why = std::move(message);
        return std::nullopt;
    }
    if (blob.empty() || !std::all_of(blob.begin(), blob.end(), is_base64)) {
        std::string message = "the key data after \"";
        message += type;
        message += "\" is not base64";
        why = std::move(message);
        return std::nullopt;
    }
    return std::string(type) + " " + std::string(blob);
}

ssh_keys_text parse_ssh_keys_text(std::string_view text) {
    ssh_keys_text out;
    std::size_t number = 0;
    while (!text.empty()) {
        auto const eol = text.find('\n');
        auto const line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        ++number;
        auto const first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos || line[first] == '#')
            continue;
        std::string why;
        if (auto key = parse_ssh_key_line(line.substr(first), why))
            out.keys.push_back(std::move(*key));
        else
            out.problems.push_back({number, std::move(why)});
    }
    return out;
}

} // namespace dockgate::config
