#include "certs-tool/keys.hpp"

#include <array>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "certs-tool/error.hpp"
#include "certs-tool/files.hpp"

namespace dockgate::certs {

namespace {

constexpr std::array<std::pair<key_type, std::string_view>, 5> key_names{{
    {key_type::ec_p256, "ec-p256"},
    {key_type::ec_p384, "ec-p384"},
    {key_type::ed25519, "ed25519"},
    {key_type::rsa_3072, "rsa-3072"},
    {key_type::rsa_4096, "rsa-4096"},
}};

// The PEM password callback: hands OpenSSL the passphrase, or refuses (-1) when there is none,
// so that OpenSSL never falls back to prompting on the terminal.
int passphrase_callback(char* buf, int size, int /*rwflag*/, void* user) {
    auto const* pass = static_cast<passphrase const*>(user);
    if (pass == nullptr || pass->value().empty() ||
        pass->value().size() > static_cast<std::size_t>(size))
        return -1;
    std::copy(pass->value().begin(), pass->value().end(), buf);
    return static_cast<int>(pass->value().size());
}

} // namespace

std::optional<key_type> parse_key_type(std::string_view name) {
    for (auto const& [type, text] : key_names)
        if (text == name)
            return type;
    return std::nullopt;
}

std::string_view key_type_name(key_type type) {
    for (auto const& [t, text] : key_names)
        if (t == type)
            return text;
    return "unknown";
}

std::string key_type_names() {
    std::string out;
    for (auto const& [type, text] : key_names) {
        if (!out.empty())
            out += ", ";
        out += text;
    }
    return out;
}

pkey_ptr generate_key(key_type type) {
    ERR_clear_error();
    pkey_ptr key;
    switch (type) {
    case key_type::ec_p256:
        key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
        break;
    case key_type::ec_p384:
        key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
        break;
    case key_type::ed25519:
        key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
        break;
    case key_type::rsa_3072:
        key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{3072}));
        break;
    case key_type::rsa_4096:
        key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{4096}));
        break;
    }
    if (!key)
        fail_internal("cannot generate a " + std::string(key_type_name(type)) +
                      " key: " + openssl_error());
    return key;
}

std::optional<key_type> key_type_of(EVP_PKEY* key) {
    if (EVP_PKEY_is_a(key, "ED25519"))
        return key_type::ed25519;
    if (EVP_PKEY_is_a(key, "RSA")) {
        int const bits = EVP_PKEY_get_bits(key);
        if (bits == 3072)
            return key_type::rsa_3072;
        if (bits == 4096)
            return key_type::rsa_4096;
        return std::nullopt;
    }
    if (EVP_PKEY_is_a(key, "EC")) {
        char group[64] = {};
        std::size_t len = 0;
        if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len) != 1)
            return std::nullopt;
        std::string_view const name(group, len);
        if (name == "prime256v1" || name == "P-256")
            return key_type::ec_p256;
        if (name == "secp384r1" || name == "P-384")
            return key_type::ec_p384;
    }
    return std::nullopt;
}

EVP_MD const* signing_digest(EVP_PKEY* signer) {
    if (EVP_PKEY_is_a(signer, "ED25519"))
        return nullptr;
    if (key_type_of(signer) == key_type::ec_p384)
        return EVP_sha384();
    return EVP_sha256();
}

passphrase passphrase::from_file(std::filesystem::path const& file) {
    std::string text =
        read_file(file, "write the passphrase on its first line, or fix --passphrase-file");
    auto const end = text.find_first_of("\r\n");
    std::string value = text.substr(0, end);
    OPENSSL_cleanse(text.data(), text.size());
    if (value.empty())
        fail_user(file.string() + ": the passphrase (the first line) is empty");
    if (value.size() > 1023)
        fail_user(file.string() + ": the passphrase is longer than 1023 bytes");
    return passphrase(std::move(value), file);
}

passphrase::passphrase(passphrase&& other) noexcept
    : value_(std::move(other.value_))
    , file_(std::move(other.file_)) {
    other.value_.clear();
}

passphrase::~passphrase() {
    if (!value_.empty())
        OPENSSL_cleanse(value_.data(), value_.size());
}

std::string private_key_pem(EVP_PKEY* key, passphrase const* pass) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio)
        fail_internal("cannot allocate a memory BIO: " + openssl_error());
    int ok = 0;
    if (pass != nullptr) {
        // PKCS#8 with PBES2: PBKDF2 and AES-256-CBC.
        ok = PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), nullptr, 0,
                                           passphrase_callback, const_cast<passphrase*>(pass));
    } else {
        ok = PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    }
    if (ok != 1)
        fail_internal("cannot encode a private key: " + openssl_error());
    char* data = nullptr;
    long const len = BIO_get_mem_data(bio.get(), &data);
    std::string out(data, static_cast<std::size_t>(len));
    OPENSSL_cleanse(data, static_cast<std::size_t>(len));
    return out;
}

bool is_encrypted_key_pem(std::string_view pem) {
    return pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos ||
           pem.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
}

pkey_ptr load_private_key(std::string_view pem, std::filesystem::path const& file,
                          passphrase const* pass) {
    bool const encrypted = is_encrypted_key_pem(pem);
    if (encrypted && pass == nullptr)
        fail_user(file.string() +
                  ": the key is encrypted; pass --passphrase-file with its passphrase");
    ERR_clear_error();
    bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio)
        fail_internal("cannot allocate a memory BIO: " + openssl_error());
    pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_callback,
                                         const_cast<passphrase*>(encrypted ? pass : nullptr)));
    ERR_clear_error(); // the details can only name the failing decoder; the message below says more
    if (!key) {
        if (encrypted)
            fail_user(file.string() + ": wrong passphrase in " + pass->file().string() +
                      " (or the key file is corrupt); nothing was changed");
        fail_user(file.string() + ": not a PEM private key (corrupt?); restore it from a backup");
    }
    return key;
}

} // namespace dockgate::certs
