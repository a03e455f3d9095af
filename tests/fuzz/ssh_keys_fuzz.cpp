// Any bytes as an ssh_keys_file: parse_ssh_keys_text must not crash, must account for every
// line that is neither blank nor a comment (a key or a problem naming the line), and what it
// accepts must be well-formed ("TYPE BASE64" with a supported type). Loading the accepted keys
// (load_ssh_material, as a reload does) either refuses with a message or admits exactly the
// keys written: each fingerprint is that of the key bytes in its line, which is what a client
// presenting that key is checked against.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "config/ssh_keys.hpp"
#include "gateway/ssh/ssh_material.hpp"

namespace {

using namespace dockgate;

[[noreturn]] void fail(char const* what, std::string const& detail) {
    std::fprintf(stderr, "ssh_keys: %s: %s\n", what, detail.c_str());
    std::abort();
}

bool is_base64(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

// Lines that must give a key or a problem, counted apart from the parser.
std::size_t meaningful_lines(std::string_view text, std::size_t& total) {
    std::size_t count = 0;
    total = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        ++total;
        auto const line = text.substr(start, end - start);
        auto const first = line.find_first_not_of(" \t\r");
        if (first != std::string_view::npos && line[first] != '#')
            ++count;
        start = end + 1;
    }
    return count;
}

// The bytes that canonical, padded base64 encodes; nullopt for anything else.
std::optional<std::string> decode_base64(std::string_view text) {
    constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (text.empty() || text.size() % 4 != 0)
        return std::nullopt;
    std::size_t padding = 0;
    while (padding < 2 && text[text.size() - 1 - padding] == '=')
        ++padding;
    std::string out;
    std::uint32_t bits = 0;
    for (std::size_t i = 0; i < text.size() - padding; ++i) {
        auto const v = alphabet.find(text[i]);
        if (v == std::string_view::npos)
            return std::nullopt;
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        if (i % 4 == 3) {
            out += static_cast<char>(bits >> 16);
            out += static_cast<char>(bits >> 8);
            out += static_cast<char>(bits);
            bits = 0;
        }
    }
    if (padding == 1) { // 18 bits: two bytes and two zero bits
        if ((bits & 0x3) != 0)
            return std::nullopt;
        out += static_cast<char>(bits >> 10);
        out += static_cast<char>(bits >> 2);
    } else if (padding == 2) { // 12 bits: one byte and four zero bits
        if ((bits & 0xf) != 0)
            return std::nullopt;
        out += static_cast<char>(bits >> 4);
    }
    return out;
}

// "SHA256:<base64 without padding>" of the key bytes that `blob` encodes, as OpenSSH prints it;
// "" when `blob` is not canonical base64.
std::string fingerprint_of(std::string_view blob) {
    auto const raw = decode_base64(blob);
    if (!raw)
        return "";
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<unsigned char const*>(raw->data()), raw->size(), digest);
    unsigned char text[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
    EVP_EncodeBlock(text, digest, SHA256_DIGEST_LENGTH);
    std::string out = "SHA256:" + std::string(reinterpret_cast<char const*>(text));
    while (out.back() == '=')
        out.pop_back();
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const text(reinterpret_cast<char const*>(data), size);
    auto const parsed = config::parse_ssh_keys_text(text);

    std::size_t total = 0;
    if (parsed.keys.size() + parsed.problems.size() != meaningful_lines(text, total))
        fail("a line gave neither a key nor a problem", std::to_string(total));
    for (auto const& p : parsed.problems) {
        if (p.line == 0 || p.line > total || p.why.empty())
            fail("a problem without its line or reason", p.why);
    }
    for (auto const& key : parsed.keys) {
        auto const space = key.find(' ');
        if (space == std::string::npos || key.find(' ', space + 1) != std::string::npos)
            fail("a key is not TYPE BASE64", key);
        std::string why;
        auto const again = config::parse_ssh_key_line(key, why);
        if (!again || *again != key)
            fail("a key does not read back as itself", key);
        if (!std::all_of(key.begin() + static_cast<std::ptrdiff_t>(space) + 1, key.end(),
                         is_base64))
            fail("a key's data is not base64", key);
    }

    config::config cfg;
    cfg.users["alice"].ssh_keys = parsed.keys;
    std::shared_ptr<ssh::ssh_material const> material;
    try {
        material = ssh::load_ssh_material(cfg);
    } catch (std::runtime_error const& e) {
        if (std::string_view(e.what()).find("users.alice") == std::string_view::npos)
            fail("a refusal does not name the user", e.what());
        return 0;
    }
    std::set<std::string> expected;
    for (auto const& key : parsed.keys) {
        auto const fp = fingerprint_of(key.substr(key.find(' ') + 1));
        if (fp.empty())
            fail("a key that is not canonical base64 was loaded", key);
        expected.insert(fp);
    }
    auto const it = material->user_keys.find("alice");
    std::set<std::string> const loaded =
        it == material->user_keys.end() ? std::set<std::string>{} : it->second;
    if (loaded != expected)
        fail("the loaded keys are not the keys written", parsed.keys.empty() ? "" : parsed.keys[0]);
    return 0;
}
