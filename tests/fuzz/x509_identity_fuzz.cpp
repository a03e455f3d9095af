// A client certificate as the gateway's identity: certificate_identity must not crash, must
// refuse unless the subject holds exactly one common name, non-empty and free of control
// characters, and every CN and O value reads as UTF-8, and what it accepts must be the whole
// subject: the user is that CN, the certificate's groups are every O value in order, and
// [users.NAME].groups follow without duplicates.
//
// The first byte picks the input's form:
// - even: the rest is a DER certificate (what the TLS handshake hands over),
// - odd: the rest is a list of subject entries, each [attribute][string type][length][bytes],
//   encoded here as a DER Name and decoded with OpenSSL's own d2i_X509_NAME, so the fuzzer
//   spends its time on the entries' contents and types rather than on DER framing.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "common/x509_name.hpp"
#include "gateway/tls/peer_identity.hpp"

namespace {

using namespace dockgate;
using bytes = std::vector<std::uint8_t>;

config::config const& fuzz_config() {
    static config::config const cfg = [] {
        config::config c;
        c.users["alice"].groups = {"developers", "ops"};
        c.users["bob"].groups = {};
        return c;
    }();
    return cfg;
}

[[noreturn]] void fail(char const* what) {
    std::fprintf(stderr, "x509_identity: %s\n", what);
    std::abort();
}

void append_length(bytes& out, std::size_t n) {
    if (n < 0x80) {
        out.push_back(static_cast<std::uint8_t>(n));
    } else if (n < 0x100) {
        out.insert(out.end(), {0x81, static_cast<std::uint8_t>(n)});
    } else {
        out.insert(out.end(),
                   {0x82, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
    }
}

bytes tlv(std::uint8_t tag, bytes const& content) {
    bytes out{tag};
    append_length(out, content.size());
    out.insert(out.end(), content.begin(), content.end());
    return out;
}

// The attributes a subject commonly carries, and the two the gateway reads.
bytes const attribute_oids[] = {
    {0x55, 0x04, 0x03},                                     // commonName
    {0x55, 0x04, 0x0a},                                     // organizationName
    {0x55, 0x04, 0x0b},                                     // organizationalUnitName
    {0x55, 0x04, 0x06},                                     // countryName
    {0x55, 0x04, 0x05},                                     // serialNumber
    {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01}, // emailAddress
    {0x55, 0x04, 0x03},                                     // commonName again: twice as likely
    {0x55, 0x04, 0x0a},                                     // organizationName again
};

// DirectoryString and its relatives: UTF8, Printable, T61, IA5, BMP, Universal, Visible, Numeric.
constexpr std::uint8_t string_tags[] = {0x0c, 0x13, 0x14, 0x16, 0x1e, 0x1c, 0x1a, 0x12};

// [attribute][type][length][bytes]...: bit 3 of the attribute byte puts the entry in the same
// RDN as the one before (a multi-valued RDN); a type byte >= 0xf0 gives any universal tag.
bytes subject_der(std::uint8_t const* data, std::size_t size) {
    std::vector<bytes> rdns;
    std::size_t i = 0;
    while (i + 3 <= size) {
        std::uint8_t const selector = data[i];
        std::uint8_t const type = data[i + 1];
        std::size_t const length = std::min<std::size_t>(data[i + 2], size - i - 3);
        bytes const value(data + i + 3, data + i + 3 + length);
        i += 3 + length;
        std::uint8_t const tag = type >= 0xf0 ? type & 0x1f : string_tags[type % 8];
        bytes entry = tlv(0x06, attribute_oids[selector % 8]);
        auto const v = tlv(tag, value);
        entry.insert(entry.end(), v.begin(), v.end());
        auto const sequence = tlv(0x30, entry);
        if ((selector & 0x08) != 0 && !rdns.empty())
            rdns.back().insert(rdns.back().end(), sequence.begin(), sequence.end());
        else
            rdns.push_back(sequence);
    }
    bytes name;
    for (auto const& rdn : rdns) {
        auto const set = tlv(0x31, rdn);
        name.insert(name.end(), set.begin(), set.end());
    }
    return tlv(0x30, name);
}

struct x509_name_deleter {
    void operator()(X509_NAME* p) const { X509_NAME_free(p); }
};

x509_ptr certificate_from(std::uint8_t const* data, std::size_t size) {
    if (size == 0)
        return nullptr;
    if ((data[0] & 1) == 0) {
        std::uint8_t const* p = data + 1;
        return x509_ptr(d2i_X509(nullptr, &p, static_cast<long>(size - 1)));
    }
    auto const der = subject_der(data + 1, size - 1);
    std::uint8_t const* p = der.data();
    std::unique_ptr<X509_NAME, x509_name_deleter> name(
        d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
    if (!name)
        return nullptr;
    x509_ptr cert(X509_new());
    if (!cert || X509_set_subject_name(cert.get(), name.get()) != 1)
        return nullptr;
    return cert;
}

// Every value of `nid` in the subject, read entry by entry; nullopt in an element that does not
// convert to UTF-8.
std::vector<std::optional<std::string>> raw_values(X509 const* cert, int nid) {
    std::vector<std::optional<std::string>> out;
    X509_NAME const* name = X509_get_subject_name(cert);
    for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
        X509_NAME_ENTRY const* entry = X509_NAME_get_entry(name, i);
        if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry)) != nid)
            continue;
        unsigned char* utf8 = nullptr;
        int const len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
        if (len < 0) {
            out.emplace_back();
            continue;
        }
        out.emplace_back(
            std::string(reinterpret_cast<char const*>(utf8), static_cast<std::size_t>(len)));
        OPENSSL_free(utf8);
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    auto const cert = certificate_from(data, size);
    if (!cert)
        return 0;
    auto const& cfg = fuzz_config();
    auto const peer = tls::certificate_identity(cert.get(), cfg, "192.0.2.1:4242");

    auto const names = raw_values(cert.get(), NID_commonName);
    auto const orgs = raw_values(cert.get(), NID_organizationName);
    auto const readable = [](auto const& values) {
        return std::all_of(values.begin(), values.end(),
                           [](auto const& v) { return v.has_value(); });
    };
    auto const printable = [](std::string const& v) {
        return std::none_of(v.begin(), v.end(),
                            [](unsigned char c) { return c < 0x20 || c == 0x7f; });
    };
    bool const one_name = readable(names) && readable(orgs) && names.size() == 1 &&
                          !names.front()->empty() && printable(*names.front());
    if (!peer) {
        if (one_name)
            fail("refused a readable subject with exactly one printable common name");
        return 0;
    }
    if (!one_name)
        fail("accepted a subject without exactly one common name, or with an unreadable CN or O");
    if (peer->who.user != *names.front())
        fail("the user is not the common name");

    if (peer->cert_groups.size() != orgs.size())
        fail("the certificate's groups are not every O value");
    for (std::size_t i = 0; i < orgs.size(); ++i) {
        if (!orgs[i] || peer->cert_groups[i] != *orgs[i])
            fail("a certificate group differs from its O value");
    }

    // [users.NAME].groups follow the certificate's, each once.
    auto const& groups = peer->who.groups;
    if (groups.size() < peer->cert_groups.size() ||
        !std::equal(peer->cert_groups.begin(), peer->cert_groups.end(), groups.begin()))
        fail("the certificate's groups do not come first");
    std::vector<std::string> expected = peer->cert_groups;
    if (auto it = cfg.users.find(peer->who.user); it != cfg.users.end()) {
        for (auto const& g : it->second.groups) {
            if (std::find(expected.begin(), expected.end(), g) == expected.end())
                expected.push_back(g);
        }
    }
    if (groups != expected)
        fail("the configured groups are not added once each");

    if (peer->who.transport != "tls" || peer->who.credential.rfind("serial:", 0) != 0)
        fail("transport or credential");
    return 0;
}
