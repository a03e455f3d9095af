#pragma once
// Key pairs: the algorithms dockgate-certs offers, generation, PEM (optionally AES-256
// encrypted) and loading with a passphrase read from a file. Key material never reaches a
// message or a log.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/openssl_util.hpp"

namespace dockgate::certs {

enum class key_type { ec_p256, ec_p384, ed25519, rsa_3072, rsa_4096 };

/// "ec-p256", "ec-p384", "ed25519", "rsa-3072", "rsa-4096".
std::optional<key_type> parse_key_type(std::string_view name);
std::string_view key_type_name(key_type type);
/// All names, comma-separated, for messages and --help.
std::string key_type_names();

/// A fresh key pair. Throws an internal error if OpenSSL cannot make one.
pkey_ptr generate_key(key_type type);

/// The type of an existing key, or nullopt for anything dockgate-certs would not make.
std::optional<key_type> key_type_of(EVP_PKEY* key);

/// The digest a key signs certificates and CRLs with (nullptr for Ed25519, which has its own).
EVP_MD const* signing_digest(EVP_PKEY* signer);

/// A passphrase read from a file: its first line, without the line ending. Wiped on destruction.
class passphrase {
public:
    /// Reads `file`; an unreadable or empty file is a user error naming it.
    static passphrase from_file(std::filesystem::path const& file);

    passphrase(passphrase&& other) noexcept;
    passphrase& operator=(passphrase&&) = delete;
    passphrase(passphrase const&) = delete;
    passphrase& operator=(passphrase const&) = delete;
    ~passphrase();

    std::string_view value() const { return value_; }
    std::filesystem::path const& file() const { return file_; }

private:
    passphrase(std::string value, std::filesystem::path file)
        : value_(std::move(value))
        , file_(std::move(file)) {}
    std::string value_;
    std::filesystem::path file_;
};

/// PKCS#8 PEM of the private key; encrypted with AES-256-CBC (PBKDF2) when `pass` is given.
std::string private_key_pem(EVP_PKEY* key, passphrase const* pass);

/// True if the PEM text holds an encrypted private key.
bool is_encrypted_key_pem(std::string_view pem);

/// Parses a private key read from `file`. Fails with a user error naming `file` when the key is
/// encrypted and no passphrase was given, when the passphrase is wrong, or when it is corrupt.
pkey_ptr load_private_key(std::string_view pem, std::filesystem::path const& file,
                          passphrase const* pass);

} // namespace dockgate::certs
