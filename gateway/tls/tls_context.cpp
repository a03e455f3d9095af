#include "gateway/tls/tls_context.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/openssl_util.hpp"
#include "common/x509_name.hpp"
#include "gateway/tls/crl_source.hpp"
#include "gateway/tls/peer_identity.hpp"

namespace dockgate::tls {

namespace {

// The SSL_CTX's listen.tls.identity, for the verify callback.
int identity_field_index() {
    static int const index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// Set (to any non-null pointer) when listen.tls.crl_stale = "allow".
int stale_crl_index() {
    static int const index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// Why the verify callback refused a certificate's identity (an identity_problem), per SSL.
int identity_problem_index() {
    static int const index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// The ex_data slots hold a pointer to one of these constants (never an integer cast to one).
constexpr std::array identity_fields{
    config::tls_identity_field::cn, config::tls_identity_field::uri_san,
    config::tls_identity_field::dns_san, config::tls_identity_field::email_san};
constexpr std::array identity_problems{identity_problem::none, identity_problem::missing,
                                       identity_problem::several, identity_problem::unusable};

template <class T, std::size_t N>
void* ex_data_of(std::array<T, N> const& table, T value) {
    for (auto const& v : table) {
        if (v == value)
            return const_cast<T*>(&v); // OpenSSL's slots are void*; only ever read back as const
    }
    return nullptr;
}

template <class T>
T ex_data_value(void const* data, T fallback) {
    return data == nullptr ? fallback : *static_cast<T const*>(data);
}

config::tls_identity_field identity_field_of(SSL const* ssl) {
    return ex_data_value(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), identity_field_index()),
                         config::tls_identity_field::cn);
}

// With listen.tls.crl_stale = "allow", a CRL past its nextUpdate still counts (the session
// logs the warning); every other verification error stands.
int allow_stale_crl(int preverify_ok, X509_STORE_CTX* ctx) {
    if (preverify_ok != 1 && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CRL_HAS_EXPIRED) {
        X509_STORE_CTX_set_error(ctx, X509_V_OK);
        return 1;
    }
    return preverify_ok;
}

// The identity rule is part of the certificate check, so a client certificate that names no
// single user ends the handshake with an alert (handshake_failure) the client can report,
// rather than a close after it. The reason is logged by the session
// (X509_V_ERR_APPLICATION_VERIFICATION is only ever set here).
int verify_names_one_user(int preverify_ok, X509_STORE_CTX* ctx) {
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (preverify_ok != 1 && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CRL_HAS_EXPIRED &&
        SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), stale_crl_index()) != nullptr)
        return allow_stale_crl(preverify_ok, ctx);
    if (preverify_ok != 1 || X509_STORE_CTX_get_error_depth(ctx) != 0)
        return preverify_ok;
    auto const problem =
        certificate_user_problem(X509_STORE_CTX_get_current_cert(ctx), identity_field_of(ssl));
    if (problem == identity_problem::none)
        return 1;
    SSL_set_ex_data(ssl, identity_problem_index(), ex_data_of(identity_problems, problem));
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
}

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

tls_material::time_point to_time_point(ASN1_TIME const* t) {
    return dockgate::to_time_point(t).value_or(tls_material::time_point{});
}

struct bio_deleter {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};

std::vector<x509_ptr> read_certificates(std::filesystem::path const& file) {
    std::unique_ptr<BIO, bio_deleter> bio(BIO_new_file(file.c_str(), "r"));
    if (!bio)
        fail("listen.tls.ca: cannot open", file);
    std::vector<x509_ptr> out;
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
        out.emplace_back(cert);
    ERR_clear_error(); // the loop ends on a "no start line" error at EOF
    return out;
}

// Adds `crl` to the store of `material` and moves `earliest` to its nextUpdate if sooner.
void add_crl(tls_material& material, X509_CRL* crl, std::string const& source) {
    if (auto const next = crl_next_update(crl);
        next && (!material.crl_next_update || *next < *material.crl_next_update))
        material.crl_next_update = next;
    if (X509_STORE_add_crl(SSL_CTX_get_cert_store(material.ctx.get()), crl) != 1)
        throw std::runtime_error(source + ": cannot use the CRL of " + crl_issuer(crl) + ": " +
                                 openssl_error());
}

// Loads every CRL of `file` into the store, each one checked against its issuer in the store.
void load_crls(tls_material& material, std::filesystem::path const& file) {
    std::unique_ptr<BIO, bio_deleter> bio(BIO_new_file(file.c_str(), "r"));
    if (!bio)
        fail("listen.tls.crl: cannot open", file);
    std::size_t count = 0;
    while (X509_CRL* raw = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
        crl_ptr const crl(raw, X509_CRL_free);
        ++count;
        if (crl_issuer_problem(material, crl.get()))
            throw std::runtime_error(
                "listen.tls.crl: " + file.string() + ": CRL number " + std::to_string(count) +
                " is not signed by any CA in listen.tls.ca (ship the CRL of the CAs you trust)");
        add_crl(material, crl.get(), "listen.tls.crl: " + file.string());
    }
    ERR_clear_error();
    if (count == 0)
        throw std::runtime_error(
            "listen.tls.crl: " + file.string() +
            ": no CRL in the file (expected PEM \"-----BEGIN X509 CRL-----\" blocks)");
}

} // namespace

std::unique_ptr<SSL_CTX, ssl_ctx_deleter> new_server_context() {
    ERR_clear_error();
    std::unique_ptr<SSL_CTX, ssl_ctx_deleter> ctx(SSL_CTX_new(TLS_server_method()));
    SSL_CTX* native = ctx.get();
    if (native == nullptr)
        throw std::runtime_error("TLS: cannot create a context: " + openssl_error());
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
    // No renegotiation, no compression, server picks the suite, and a peer that closes TCP
    // without close_notify (the docker CLI half-closes hijacked streams that way) reads as EOF.
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                    SSL_OP_NO_TICKET);
    // No session resumption: every connection presents and verifies its certificate (a revoked
    // one cannot come back on a cached session), and no session is kept per connection made,
    // which is memory and a NewSessionTicket exchange per handshake saved.
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(native, 0);
    // Idle connections give their record buffers back; writes behave like write_some.
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // Read whole records (and what follows) per syscall instead of header and body apart.
    SSL_CTX_set_read_ahead(native, 1);
    // TLS 1.3: AES-128-GCM first (as strong for this use and the cheapest on AES-NI hardware),
    // ChaCha20 for clients without it; the server's order decides.
    if (SSL_CTX_set_ciphersuites(
            native, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384") !=
        1)
        throw std::runtime_error("TLS: TLS 1.3 suites rejected: " + openssl_error());
    if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1)
        throw std::runtime_error("TLS: cipher list rejected: " + openssl_error());
    return ctx;
}

std::shared_ptr<tls_material const> load_tls_material(config::tls_listener const& tls,
                                                      std::vector<fetched_crl> const& fetched) {
    auto material = std::make_shared<tls_material>();
    material->ctx = new_server_context();
    SSL_CTX* native = material->ctx.get();
    if (SSL_CTX_use_certificate_chain_file(native, tls.cert.c_str()) != 1)
        fail("listen.tls.cert: cannot load the certificate chain", tls.cert);
    if (SSL_CTX_use_PrivateKey_file(native, tls.key.c_str(), SSL_FILETYPE_PEM) != 1)
        fail("listen.tls.key: cannot load the private key", tls.key);
    if (SSL_CTX_check_private_key(native) != 1)
        fail("listen.tls.key: the key does not match listen.tls.cert", tls.key);
    material->server_not_after =
        to_time_point(X509_get0_notAfter(SSL_CTX_get0_certificate(native)));

    auto const cas = read_certificates(tls.ca);
    if (cas.empty())
        throw std::runtime_error("listen.tls.ca: " + tls.ca.string() +
                                 ": no certificate in the file (expected PEM)");
    X509_STORE* store = SSL_CTX_get_cert_store(native);
    for (auto const& ca : cas) {
        if (X509_STORE_add_cert(store, ca.get()) != 1)
            fail("listen.tls.ca: cannot use a certificate from", tls.ca);
        material->cas.push_back(
            {subject_line(ca.get()), to_time_point(X509_get0_notAfter(ca.get()))});
    }
    // The CA names go into the CertificateRequest so clients with several certificates pick right.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.ca.c_str()))
        SSL_CTX_set_client_CA_list(native, names);
    if (tls.crl)
        load_crls(*material, *tls.crl);
    for (auto const& f : fetched) {
        // Checked when fetched, and again against the CA bundle of this snapshot: the CRL of a
        // CA that left the bundle (retire-ca) has nothing left to say and is skipped (the
        // fetcher logs its failures until the URL is removed).
        if (!crl_issuer_problem(*material, f.crl.get()))
            add_crl(*material, f.crl.get(), "listen.tls.crl_urls: " + f.url);
    }
    if (tls.crl || !tls.crl_urls.empty()) {
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
        material->checks_revocation = true;
        material->allow_stale_crl = tls.crl_stale == config::crl_stale_policy::allow;
    }
    SSL_CTX_set_ex_data(native, identity_field_index(), ex_data_of(identity_fields, tls.identity));
    if (material->allow_stale_crl)
        SSL_CTX_set_ex_data(native, stale_crl_index(), material.get());
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       verify_names_one_user);
    SSL_CTX_set_verify_depth(native, 4);
    X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(native), X509_PURPOSE_SSL_CLIENT);
    static constexpr unsigned char session_id[] = "dockgate";
    SSL_CTX_set_session_id_context(native, session_id, sizeof session_id - 1);
    return material;
}

std::optional<std::string> identity_refusal(SSL const* ssl) {
    auto const problem =
        ex_data_value(SSL_get_ex_data(ssl, identity_problem_index()), identity_problem::none);
    if (problem == identity_problem::none)
        return std::nullopt;
    auto const field = identity_field_of(ssl);
    return "it names no single user under listen.tls.identity = \"" +
           std::string(identity_field_name(field)) + "\": " + describe(problem, field);
}

std::optional<std::string> reverify(tls_material const& material, X509* leaf,
                                    STACK_OF(X509) * chain) {
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                        &X509_STORE_CTX_free);
    if (!ctx || X509_STORE_CTX_init(ctx.get(), SSL_CTX_get_cert_store(material.ctx.get()), leaf,
                                    chain) != 1)
        return std::string("cannot set up certificate verification");
    X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(ctx.get()),
                           SSL_CTX_get0_param(material.ctx.get()));
    if (material.checks_revocation)
        X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    if (material.allow_stale_crl)
        X509_STORE_CTX_set_verify_cb(ctx.get(), allow_stale_crl);
    ERR_clear_error();
    if (X509_verify_cert(ctx.get()) == 1)
        return std::nullopt;
    ERR_clear_error();
    return std::string(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
}

} // namespace dockgate::tls
