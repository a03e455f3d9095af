#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "common/x509_name.hpp"
#include "gateway/tls/peer_identity.hpp"

namespace dockgate::tls {
namespace {

struct entry {
    int nid;          // NID_commonName or NID_organizationName
    std::uint8_t tag; // the string's universal tag: 0x0c UTF8String, 0x1e BMPString, ...
    std::string bytes;
};

std::string tlv(std::uint8_t tag, std::string const& content) {
    EXPECT_LT(content.size(), 0x80u); // short lengths are enough here
    return std::string(1, static_cast<char>(tag)) + static_cast<char>(content.size()) + content;
}

// A certificate holding only `subject`, read from DER as the handshake hands it over, so that
// a value OpenSSL would not build itself (a type it cannot read) gets through as it would
// from a peer. Identity mapping reads nothing but the subject.
x509_ptr certificate(std::vector<entry> const& subject) {
    std::string rdns;
    for (auto const& e : subject) {
        std::string const oid = e.nid == NID_commonName ? "\x55\x04\x03" : "\x55\x04\x0a";
        rdns += tlv(0x31, tlv(0x30, tlv(0x06, oid) + tlv(e.tag, e.bytes)));
    }
    std::string const der = tlv(0x30, rdns);
    auto const* p = reinterpret_cast<unsigned char const*>(der.data());
    std::unique_ptr<X509_NAME, decltype(&X509_NAME_free)> name(
        d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())), &X509_NAME_free);
    EXPECT_TRUE(name);
    x509_ptr cert(X509_new());
    EXPECT_EQ(X509_set_subject_name(cert.get(), name.get()), 1);
    return cert;
}

config::config users() {
    config::config cfg;
    cfg.users["alice"].groups = {"ops", "developers"};
    return cfg;
}

TEST(certificate_identity, names_the_cn_and_every_o_then_the_configured_groups) {
    auto const cert = certificate({{NID_organizationName, 0x0c, "developers"},
                                   {NID_organizationName, 0x0c, "qa"},
                                   {NID_commonName, 0x0c, "alice"}});
    auto const peer = certificate_identity(cert.get(), users(), "192.0.2.1:4242");
    ASSERT_TRUE(peer);
    EXPECT_EQ(peer->who.user, "alice");
    EXPECT_EQ(peer->cert_groups, (std::vector<std::string>{"developers", "qa"}));
    EXPECT_EQ(peer->who.groups, (std::vector<std::string>{"developers", "qa", "ops"}));
    EXPECT_EQ(peer->who.transport, "tls");
    EXPECT_EQ(peer->who.credential.rfind("serial:", 0), 0u);
}

TEST(certificate_identity, refuses_a_missing_empty_or_repeated_cn) {
    auto const cfg = users();
    EXPECT_FALSE(certificate_identity(
        certificate({{NID_organizationName, 0x0c, "developers"}}).get(), cfg, ""));
    EXPECT_FALSE(certificate_identity(certificate({{NID_commonName, 0x0c, ""}}).get(), cfg, ""));
    EXPECT_FALSE(certificate_identity(
        certificate({{NID_commonName, 0x0c, "alice"}, {NID_commonName, 0x0c, "bob"}}).get(), cfg,
        ""));
}

// Regression (found by x509_identity_fuzz): a CN that does not convert to UTF-8 was skipped, so
// a subject with such a CN and CN=alice was alice. 0x1d (CHARACTER STRING) is a type DER allows
// in a name and OpenSSL cannot convert.
TEST(certificate_identity, refuses_a_cn_or_o_that_is_not_text) {
    auto const cfg = users();
    EXPECT_FALSE(certificate_identity(
        certificate({{NID_commonName, 0x1d, "bob"}, {NID_commonName, 0x0c, "alice"}}).get(), cfg,
        ""));
    EXPECT_FALSE(certificate_identity(
        certificate({{NID_organizationName, 0x1d, "ops"}, {NID_commonName, 0x0c, "alice"}}).get(),
        cfg, ""));
    // Other string types are read as the text they hold: a BMPString "al" is the user al.
    auto const bmp = certificate_identity(
        certificate({{NID_commonName, 0x1e, std::string("\x00\x61\x00\x6c", 4)}}).get(), cfg, "");
    ASSERT_TRUE(bmp);
    EXPECT_EQ(bmp->who.user, "al");
}

} // namespace
} // namespace dockgate::tls
