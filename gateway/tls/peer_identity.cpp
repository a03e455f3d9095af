#include "gateway/tls/peer_identity.hpp"

#include <algorithm>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "common/x509_name.hpp"

namespace dockgate::tls {

namespace {

using config::tls_identity_field;

// Every value that could name the user, as found (control characters included); nullopt when
// one of them does not read as UTF-8.
std::optional<std::vector<std::string>> identity_values(X509 const* cert,
                                                        tls_identity_field field) {
    if (field == tls_identity_field::cn)
        return subject_values(cert, NID_commonName);
    int const type = field == tls_identity_field::uri_san   ? GEN_URI
                     : field == tls_identity_field::dns_san ? GEN_DNS
                                                            : GEN_EMAIL;
    std::vector<std::string> values;
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (names == nullptr)
        return values;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        GENERAL_NAME const* name = sk_GENERAL_NAME_value(names, i);
        if (name->type != type)
            continue;
        ASN1_IA5STRING const* v = name->d.ia5; // uniformResourceIdentifier, dNSName, rfc822Name
        values.emplace_back(reinterpret_cast<char const*>(ASN1_STRING_get0_data(v)),
                            static_cast<std::size_t>(ASN1_STRING_length(v)));
    }
    GENERAL_NAMES_free(names);
    return values;
}

bool usable(std::string const& v) {
    return !v.empty() &&
           std::none_of(v.begin(), v.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

char const* field_label(tls_identity_field field) {
    switch (field) {
    case tls_identity_field::cn:
        return "subject CN";
    case tls_identity_field::uri_san:
        return "URI SAN";
    case tls_identity_field::dns_san:
        return "DNS SAN";
    case tls_identity_field::email_san:
        return "email SAN";
    }
    return "";
}

} // namespace

std::optional<std::string> certificate_user(X509 const* cert, tls_identity_field field) {
    auto values = identity_values(cert, field);
    if (!values || values->size() != 1 || !usable(values->front()))
        return std::nullopt;
    return std::move(values->front());
}

identity_problem certificate_user_problem(X509 const* cert, tls_identity_field field) {
    auto const values = identity_values(cert, field);
    if (!values)
        return identity_problem::unusable;
    if (values->empty())
        return identity_problem::missing;
    if (values->size() > 1)
        return identity_problem::several;
    return usable(values->front()) ? identity_problem::none : identity_problem::unusable;
}

std::string describe(identity_problem problem, tls_identity_field field) {
    switch (problem) {
    case identity_problem::none:
        return "none";
    case identity_problem::missing:
        return std::string("no ") + field_label(field);
    case identity_problem::several:
        return std::string("several ") + field_label(field) +
               " values (exactly one names the user)";
    case identity_problem::unusable:
        return std::string("an empty or unprintable ") + field_label(field);
    }
    return "";
}

std::string_view identity_field_name(tls_identity_field field) noexcept {
    switch (field) {
    case tls_identity_field::cn:
        return "cn";
    case tls_identity_field::uri_san:
        return "uri_san";
    case tls_identity_field::dns_san:
        return "dns_san";
    case tls_identity_field::email_san:
        return "email_san";
    }
    return "";
}

std::optional<tls_peer> peer_identity(SSL const* ssl, config::config const& cfg,
                                      std::string peer_address) {
    X509 const* cert = SSL_get0_peer_certificate(ssl);
    if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK)
        return std::nullopt;
    return certificate_identity(cert, cfg, std::move(peer_address));
}

std::optional<tls_peer> certificate_identity(X509 const* cert, config::config const& cfg,
                                             std::string peer_address) {
    config::tls_listener const defaults;
    auto const& tls = cfg.tls ? *cfg.tls : defaults;
    auto user = certificate_user(cert, tls.identity);
    if (!user)
        return std::nullopt;
    auto groups =
        subject_values(cert, tls.groups == config::tls_group_field::o ? NID_organizationName
                                                                      : NID_organizationalUnitName);
    if (!groups)
        return std::nullopt;
    tls_peer peer;
    peer.cert_groups = std::move(*groups);
    peer.who.user = std::move(*user);
    peer.who.groups = policy::resolve_groups(cfg, peer.who.user, peer.cert_groups);
    peer.who.transport = "tls";
    peer.who.peer = std::move(peer_address);
    peer.who.credential = "serial:" + serial_hex(cert);
    return peer;
}

} // namespace dockgate::tls
