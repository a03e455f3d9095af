#include "gateway/tls/crl_source.hpp"

#include <algorithm>
#include <ctime>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "common/openssl_util.hpp"
#include "gateway/tls/tls_context.hpp"

namespace dockgate::tls {

namespace {

struct bio_deleter {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};

crl_ptr adopt(X509_CRL* raw) {
    return crl_ptr(raw, X509_CRL_free);
}

} // namespace

std::variant<std::vector<crl_ptr>, std::string> parse_crls(std::string_view body) {
    std::vector<crl_ptr> out;
    if (body.empty())
        return std::string("the body is empty");
    constexpr std::string_view pem_head = "-----BEGIN X509 CRL-----";
    if (body.find(pem_head) != std::string_view::npos) {
        std::unique_ptr<BIO, bio_deleter> bio(
            BIO_new_mem_buf(body.data(), static_cast<int>(body.size())));
        while (X509_CRL* raw = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr))
            out.push_back(adopt(raw));
        ERR_clear_error();
        if (out.empty())
            return std::string("a PEM \"X509 CRL\" block that does not parse");
        return out;
    }
    auto const* p = reinterpret_cast<unsigned char const*>(body.data());
    X509_CRL* raw = d2i_X509_CRL(nullptr, &p, static_cast<long>(body.size()));
    ERR_clear_error();
    if (raw == nullptr)
        return std::string("neither a DER CRL nor PEM \"X509 CRL\" blocks");
    out.push_back(adopt(raw));
    if (p != reinterpret_cast<unsigned char const*>(body.data()) + body.size())
        return std::string("bytes after the DER CRL");
    return out;
}

std::optional<std::string> crl_issuer_problem(tls_material const& material, X509_CRL* crl) {
    X509_STORE* store = SSL_CTX_get_cert_store(material.ctx.get());
    STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
    bool issuer_known = false;
    for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
        X509* ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i));
        if (ca == nullptr ||
            X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl)) != 0)
            continue;
        issuer_known = true;
        EVP_PKEY* key = X509_get0_pubkey(ca);
        if (key != nullptr && X509_CRL_verify(crl, key) == 1) {
            ERR_clear_error();
            return std::nullopt;
        }
    }
    ERR_clear_error();
    return issuer_known ? "its signature does not verify with the key of its issuer " +
                              crl_issuer(crl) + " in listen.tls.ca"
                        : "its issuer " + crl_issuer(crl) +
                              " is not a CA in listen.tls.ca (publish the CRL of a CA you trust)";
}

std::optional<std::chrono::system_clock::time_point> crl_next_update(X509_CRL const* crl) {
    if (ASN1_TIME const* next = X509_CRL_get0_nextUpdate(crl))
        return dockgate::to_time_point(next);
    return std::nullopt;
}

std::optional<std::string> crl_rollback_problem(std::vector<crl_ptr> const& held,
                                                std::vector<crl_ptr> const& next) {
    for (auto const& n : next) {
        for (auto const& h : held) {
            if (X509_NAME_cmp(X509_CRL_get_issuer(n.get()), X509_CRL_get_issuer(h.get())) != 0)
                continue;
            int day = 0;
            int sec = 0;
            if (ASN1_TIME_diff(&day, &sec, X509_CRL_get0_lastUpdate(h.get()),
                               X509_CRL_get0_lastUpdate(n.get())) == 1 &&
                (day < 0 || sec < 0))
                return "it is older than the CRL of " + crl_issuer(n.get()) +
                       " in hand (an earlier thisUpdate: a replayed CRL or a stale mirror)";
        }
    }
    return std::nullopt;
}

std::string crl_issuer(X509_CRL const* crl) {
    return name_line(X509_CRL_get_issuer(crl));
}

duration next_fetch_delay(duration refresh, std::chrono::system_clock::time_point now,
                          std::optional<std::chrono::system_clock::time_point> next_update,
                          duration floor) {
    auto delay = refresh;
    if (next_update && *next_update <= now) {
        // Already stale: try again soon, but not in a loop.
        delay = std::min(refresh, duration(std::chrono::seconds(30)));
    } else if (next_update) {
        // One second past nextUpdate: the issuer publishes the next CRL by then.
        auto const until =
            std::chrono::duration_cast<duration>(*next_update - now) + std::chrono::seconds(1);
        delay = std::min(delay, until);
    }
    return std::max(delay, floor);
}

} // namespace dockgate::tls
