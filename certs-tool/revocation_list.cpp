#include "certs-tool/revocation_list.hpp"

#include <array>
#include <utility>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "certs-tool/error.hpp"
#include "certs-tool/keys.hpp"

namespace dockgate::certs {

namespace {

constexpr std::array<std::pair<revocation_reason, std::string_view>, 7> reason_names{{
    {revocation_reason::unspecified, "unspecified"},
    {revocation_reason::key_compromise, "keyCompromise"},
    {revocation_reason::ca_compromise, "cACompromise"},
    {revocation_reason::affiliation_changed, "affiliationChanged"},
    {revocation_reason::superseded, "superseded"},
    {revocation_reason::cessation_of_operation, "cessationOfOperation"},
    {revocation_reason::privilege_withdrawn, "privilegeWithdrawn"},
}};

asn1_time_ptr asn1_time(time_point t) {
    asn1_time_ptr out(ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(t)));
    if (!out)
        fail_internal("cannot encode a time: " + openssl_error());
    return out;
}

void add_revoked(X509_CRL* crl, revoked_serial const& entry) {
    x509_revoked_ptr revoked(X509_REVOKED_new());
    bignum_ptr bn;
    BIGNUM* raw = nullptr;
    if (!revoked || BN_hex2bn(&raw, entry.serial.c_str()) == 0)
        fail_internal("cannot encode serial " + entry.serial + ": " + openssl_error());
    bn.reset(raw);
    asn1_integer_ptr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    auto const when = asn1_time(entry.revoked_at);
    if (!serial || X509_REVOKED_set_serialNumber(revoked.get(), serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(revoked.get(), when.get()) != 1)
        fail_internal("cannot build the CRL entry of " + entry.serial + ": " + openssl_error());
    if (entry.reason != revocation_reason::unspecified) {
        // RFC 5280 5.3.1: reasonCode unspecified SHOULD be absent.
        std::unique_ptr<ASN1_ENUMERATED,
                        detail::openssl_deleter<ASN1_ENUMERATED, ASN1_ENUMERATED_free>>
            code(ASN1_ENUMERATED_new());
        if (!code || ASN1_ENUMERATED_set(code.get(), static_cast<long>(entry.reason)) != 1 ||
            X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, code.get(), 0, 0) != 1)
            fail_internal("cannot add the reason of " + entry.serial + ": " + openssl_error());
    }
    if (X509_CRL_add0_revoked(crl, revoked.get()) != 1)
        fail_internal("cannot add " + entry.serial + " to the CRL: " + openssl_error());
    (void)revoked.release(); // the CRL owns it now
}

} // namespace

std::optional<revocation_reason> parse_revocation_reason(std::string_view name) {
    for (auto const& [reason, text] : reason_names)
        if (text == name)
            return reason;
    return std::nullopt;
}

std::string_view revocation_reason_name(revocation_reason reason) {
    for (auto const& [r, text] : reason_names)
        if (r == reason)
            return text;
    return "unspecified";
}

std::string revocation_reason_names() {
    std::string out;
    for (auto const& [reason, text] : reason_names) {
        if (!out.empty())
            out += ", ";
        out += text;
    }
    return out;
}

x509_crl_ptr make_crl(X509* ca_cert, EVP_PKEY* ca_key, std::vector<revoked_serial> const& revoked,
                      long crl_number, time_point now, time_point next_update) {
    ERR_clear_error();
    x509_crl_ptr crl(X509_CRL_new());
    if (!crl || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert)) != 1)
        fail_internal("cannot allocate a CRL: " + openssl_error());
    auto const this_update = asn1_time(now);
    auto const next = asn1_time(next_update);
    if (X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
        X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1)
        fail_internal("cannot set the CRL's update times: " + openssl_error());
    for (auto const& entry : revoked)
        add_revoked(crl.get(), entry);

    asn1_integer_ptr number(ASN1_INTEGER_new());
    if (!number || ASN1_INTEGER_set(number.get(), crl_number) != 1 ||
        X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1)
        fail_internal("cannot add the CRL number: " + openssl_error());
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca_cert, nullptr, nullptr, crl.get(), 0);
    x509_extension_ptr aki(
        X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
    if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1)
        fail_internal("cannot add the CRL's authority key identifier: " + openssl_error());

    X509_CRL_sort(crl.get());
    if (X509_CRL_sign(crl.get(), ca_key, signing_digest(ca_key)) <= 0)
        fail_internal("cannot sign the CRL: " + openssl_error());
    return crl;
}

bool crl_signed_by(X509_CRL* crl, X509* ca) {
    bool const ok = X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) == 0 &&
                    X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1;
    ERR_clear_error();
    return ok;
}

} // namespace dockgate::certs
