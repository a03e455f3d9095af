#include "gateway/tls/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>

namespace dockgate::tls {

namespace ssl = boost::asio::ssl;

namespace {

std::string openssl_error() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty())
            out += "; ";
        out += buf;
    }
    return out.empty() ? "unknown OpenSSL error" : out;
}

[[noreturn]] void fail(std::string const& what, std::filesystem::path const& file) {
    throw std::runtime_error(what + " " + file.string() + ": " + openssl_error());
}

// Mozilla's "intermediate" TLS 1.2 list: forward secrecy and AEAD only.
constexpr char const* tls12_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

} // namespace

std::shared_ptr<ssl::context> make_server_context(config::tls_listener const& tls) {
    ERR_clear_error();
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
    // No renegotiation, no compression, server picks the suite, and a peer that closes TCP
    // without close_notify (the docker CLI half-closes hijacked streams that way) reads as EOF.
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                    SSL_OP_NO_TICKET);
    // Idle connections give their record buffers back; writes behave like write_some.
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1)
        throw std::runtime_error("TLS: cipher list rejected: " + openssl_error());

    if (SSL_CTX_use_certificate_chain_file(native, tls.cert.c_str()) != 1)
        fail("listen.tls.cert: cannot load the certificate chain", tls.cert);
    if (SSL_CTX_use_PrivateKey_file(native, tls.key.c_str(), SSL_FILETYPE_PEM) != 1)
        fail("listen.tls.key: cannot load the private key", tls.key);
    if (SSL_CTX_check_private_key(native) != 1)
        fail("listen.tls.key: the key does not match listen.tls.cert", tls.key);

    if (SSL_CTX_load_verify_locations(native, tls.ca.c_str(), nullptr) != 1)
        fail("listen.tls.ca: cannot load the CA bundle", tls.ca);
    // The CA names are sent in the CertificateRequest so clients with several certs pick right.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.ca.c_str()))
        SSL_CTX_set_client_CA_list(native, names);
    else
        fail("listen.tls.ca: no CA certificate in", tls.ca);
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_verify_depth(native, 4);
    X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(native), X509_PURPOSE_SSL_CLIENT);
    static constexpr unsigned char session_id[] = "dockgate";
    SSL_CTX_set_session_id_context(native, session_id, sizeof session_id - 1);
    return ctx;
}

} // namespace dockgate::tls
