#pragma once
// The one error type of dockgate-certs. Commands throw it; main() turns it into a message on
// stderr and an exit code. The message names the file or flag at fault and the fix.

#include <stdexcept>
#include <string>

namespace dockgate::certs {

enum class exit_code : int {
    ok = 0,
    user_error = 1,     // bad flags, missing or corrupt state, wrong passphrase, refused action
    internal_error = 2, // OpenSSL or the system failed where it should not
};

class certs_error : public std::runtime_error {
public:
    certs_error(exit_code code, std::string const& message)
        : std::runtime_error(message)
        , code_(code) {}

    exit_code code() const noexcept { return code_; }

private:
    exit_code code_;
};

/// Something the admin can fix: exit code 1.
[[noreturn]] inline void fail_user(std::string const& message) {
    throw certs_error(exit_code::user_error, message);
}

/// Something that should not fail (OpenSSL refusing to build a certificate, ...): exit code 2.
[[noreturn]] inline void fail_internal(std::string const& message) {
    throw certs_error(exit_code::internal_error, message);
}

} // namespace dockgate::certs
