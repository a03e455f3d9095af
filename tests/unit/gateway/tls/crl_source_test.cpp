#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gateway/tls/crl_source.hpp"
#include "gateway/tls/tls_context.hpp"

namespace dockgate::tls {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::system_clock;

TEST(next_fetch_delay, is_the_refresh_interval_without_a_sooner_next_update) {
    auto const now = clock::now();
    EXPECT_EQ(next_fetch_delay(10min, now, std::nullopt), 10min);
    EXPECT_EQ(next_fetch_delay(10min, now, now + 1h), 10min);
    EXPECT_EQ(next_fetch_delay(10min, now, now + 10min), 10min);
}

TEST(next_fetch_delay, comes_just_after_a_sooner_next_update) {
    auto const now = clock::now();
    EXPECT_EQ(next_fetch_delay(10min, now, now + 2min), 2min + 1s);
    EXPECT_EQ(next_fetch_delay(1h, now, now + 59s), 60s);
}

TEST(next_fetch_delay, a_stale_crl_is_retried_soon_but_not_in_a_loop) {
    auto const now = clock::now();
    EXPECT_EQ(next_fetch_delay(10min, now, now - 1h), 30s);
    EXPECT_EQ(next_fetch_delay(5s, now, now - 1h), 5s);
    EXPECT_EQ(next_fetch_delay(10min, now, now), 30s);
    EXPECT_EQ(next_fetch_delay(10min, now, now + 1ms), 1001ms);
    // Never below the floor, whatever the clock says.
    EXPECT_EQ(next_fetch_delay(10min, now, now - 1h, 45s), 45s);
    EXPECT_EQ(next_fetch_delay(10min, now, now + 200ms, 2s), 2s);
}

// A self-signed CA named `cn` with a fresh P-256 key, and CRLs it signs.
struct test_ca {
    explicit test_ca(char const* cn)
        : key(EVP_EC_gen("P-256"), EVP_PKEY_free)
        , cert(X509_new(), X509_free) {
        X509_set_version(cert.get(), 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
        X509_NAME* name = X509_get_subject_name(cert.get());
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<unsigned char const*>(cn), -1, -1, 0);
        X509_set_issuer_name(cert.get(), name);
        X509_set_pubkey(cert.get(), key.get());
        X509_sign(cert.get(), key.get(), EVP_sha256());
    }
    std::string crl_der(long next_update_seconds, long this_update_seconds = 0) const {
        std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(X509_CRL_new(), X509_CRL_free);
        X509_CRL_set_version(crl.get(), 1);
        X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(cert.get()));
        std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> last(
            X509_gmtime_adj(nullptr, this_update_seconds), ASN1_TIME_free);
        std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> next(
            X509_gmtime_adj(nullptr, next_update_seconds), ASN1_TIME_free);
        X509_CRL_set1_lastUpdate(crl.get(), last.get());
        X509_CRL_set1_nextUpdate(crl.get(), next.get());
        X509_CRL_sign(crl.get(), key.get(), EVP_sha256());
        unsigned char* der = nullptr;
        int const len = i2d_X509_CRL(crl.get(), &der);
        std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
        OPENSSL_free(der);
        return out;
    }
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key;
    std::unique_ptr<X509, decltype(&X509_free)> cert;
};

std::string to_pem(std::string const& der) {
    auto const* p = reinterpret_cast<unsigned char const*>(der.data());
    std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(
        d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())), X509_CRL_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_X509_CRL(bio.get(), crl.get());
    char* data = nullptr;
    long const len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

// The trust store of a snapshot whose listen.tls.ca holds `ca`.
tls_material trusting(test_ca const& ca) {
    tls_material m;
    m.ctx = new_server_context();
    X509_STORE_add_cert(SSL_CTX_get_cert_store(m.ctx.get()), ca.cert.get());
    return m;
}

TEST(parse_crls, reads_one_der_crl_or_pem_blocks) {
    test_ca const ca("IT CA");
    auto const der = ca.crl_der(3600);
    auto const one = parse_crls(der);
    ASSERT_TRUE(std::holds_alternative<std::vector<crl_ptr>>(one));
    EXPECT_EQ(std::get<std::vector<crl_ptr>>(one).size(), 1U);
    auto const two = parse_crls(to_pem(der) + to_pem(ca.crl_der(60)));
    ASSERT_TRUE(std::holds_alternative<std::vector<crl_ptr>>(two));
    EXPECT_EQ(std::get<std::vector<crl_ptr>>(two).size(), 2U);
    auto const trailing = parse_crls(der + "x");
    ASSERT_TRUE(std::holds_alternative<std::string>(trailing));
    EXPECT_EQ(std::get<std::string>(trailing), "bytes after the DER CRL");
}

TEST(crl_issuer_problem, only_a_crl_signed_by_a_trusted_ca_is_used) {
    test_ca const ca("IT CA");
    test_ca const same_name("IT CA");
    test_ca const other("Other CA");
    auto const material = trusting(ca);
    auto first = [](std::string const& der) {
        return std::get<std::vector<crl_ptr>>(parse_crls(der)).front();
    };
    EXPECT_EQ(crl_issuer_problem(material, first(ca.crl_der(3600)).get()), std::nullopt);
    auto const forged = crl_issuer_problem(material, first(same_name.crl_der(3600)).get());
    ASSERT_TRUE(forged);
    EXPECT_NE(forged->find("signature does not verify"), std::string::npos) << *forged;
    auto const stranger = crl_issuer_problem(material, first(other.crl_der(3600)).get());
    ASSERT_TRUE(stranger);
    EXPECT_NE(stranger->find("CN=Other CA is not a CA in listen.tls.ca"), std::string::npos)
        << *stranger;
}

TEST(crl_rollback_problem, an_older_crl_of_the_same_issuer_does_not_replace_a_newer_one) {
    test_ca const ca("IT CA");
    test_ca const other("Other CA");
    auto crls = [](std::string const& der) {
        return std::get<std::vector<crl_ptr>>(parse_crls(der));
    };
    auto const held = crls(ca.crl_der(3600, -60));
    EXPECT_EQ(crl_rollback_problem(held, crls(ca.crl_der(3600))), std::nullopt);
    EXPECT_EQ(crl_rollback_problem(held, crls(ca.crl_der(3600, -60))), std::nullopt);
    EXPECT_EQ(crl_rollback_problem({}, crls(ca.crl_der(3600, -7200))), std::nullopt);
    EXPECT_EQ(crl_rollback_problem(held, crls(other.crl_der(3600, -7200))), std::nullopt);
    auto const older = crl_rollback_problem(held, crls(ca.crl_der(3600, -120)));
    ASSERT_TRUE(older);
    EXPECT_NE(older->find("older than the CRL of CN=IT CA in hand"), std::string::npos) << *older;
}

TEST(crl_next_update, is_read_from_the_crl) {
    test_ca const ca("IT CA");
    auto const crl = std::get<std::vector<crl_ptr>>(parse_crls(ca.crl_der(120))).front();
    auto const next = crl_next_update(crl.get());
    ASSERT_TRUE(next);
    auto const ahead = std::chrono::duration_cast<std::chrono::seconds>(*next - clock::now());
    EXPECT_GE(ahead.count(), 110);
    EXPECT_LE(ahead.count(), 121);
}

TEST(parse_crls, refuses_what_is_not_a_crl) {
    for (std::string const& body :
         {std::string(), std::string("<html>404</html>"), std::string("\x30\x03\x02\x01\x01", 5),
          std::string("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 "
                      "CRL-----\n")}) {
        auto const got = parse_crls(body);
        ASSERT_TRUE(std::holds_alternative<std::string>(got)) << body;
        EXPECT_FALSE(std::get<std::string>(got).empty());
    }
}

} // namespace
} // namespace dockgate::tls
