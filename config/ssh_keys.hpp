#pragma once
// OpenSSH public key lines, as written in users.NAME.ssh_keys and in the file that
// users.NAME.ssh_keys_file names (the authorized_keys format, without options). The text is
// the operator's, but a key file is often pasted from what users send, so every byte is read
// defensively: nothing here throws, and each refused line says why.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dockgate::config {

/// One line: "TYPE BASE64 [comment]" -> "TYPE BASE64". TYPE is one of ssh-ed25519,
/// ecdsa-sha2-nistp256/384/521 or ssh-rsa; options before the type are refused (they would
/// silently not apply here). On refusal returns nullopt and sets `why` to the reason.
std::optional<std::string> parse_ssh_key_line(std::string_view line, std::string& why);

struct ssh_keys_text {
    struct problem {
        std::size_t line; // 1-based
        std::string why;
    };
    std::vector<std::string> keys; // "TYPE BASE64", in file order
    std::vector<problem> problems;
};

/// A whole key file: one key per line; blank lines and lines starting with '#' (after
/// leading blanks) are skipped. Every other line gives either a key or a problem.
ssh_keys_text parse_ssh_keys_text(std::string_view text);

} // namespace dockgate::config
