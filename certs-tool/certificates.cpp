#include "certs-tool/certificates.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "certs-tool/error.hpp"
#include "certs-tool/keys.hpp"

namespace dockgate::certs {

namespace {

// Extension values here are constants, never admin input (that goes through typed APIs).
void add_extension(X509* cert, X509V3_CTX* ctx, int nid, char const* value) {
    x509_extension_ptr ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
        fail_internal(std::string("cannot add the ") + OBJ_nid2sn(nid) +
                      " extension: " + openssl_error());
}

void set_validity(X509* cert, time_point not_before, time_point not_after) {
    if (ASN1_TIME_set(X509_getm_notBefore(cert),
                      std::chrono::system_clock::to_time_t(not_before)) == nullptr ||
        ASN1_TIME_set(X509_getm_notAfter(cert), std::chrono::system_clock::to_time_t(not_after)) ==
            nullptr)
        fail_internal("cannot set the validity period: " + openssl_error());
}

void add_name_entry(X509_NAME* name, int nid, std::string const& value) {
    if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                   reinterpret_cast<unsigned char const*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1)
        fail_internal("cannot add \"" + value + "\" to a subject name: " + openssl_error());
}

void sign(X509* cert, EVP_PKEY* key) {
    if (X509_sign(cert, key, signing_digest(key)) <= 0)
        fail_internal("cannot sign the certificate: " + openssl_error());
}

} // namespace

asn1_integer_ptr random_serial() {
    bignum_ptr bn(BN_new());
    if (!bn || BN_rand(bn.get(), 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1)
        fail_internal("cannot draw a random serial number: " + openssl_error());
    asn1_integer_ptr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    if (!serial)
        fail_internal("cannot encode a serial number: " + openssl_error());
    return serial;
}

std::string serial_text(ASN1_INTEGER const* serial) {
    bignum_ptr bn(ASN1_INTEGER_to_BN(serial, nullptr));
    if (!bn)
        return {};
    char* hex = BN_bn2hex(bn.get());
    std::string out(hex != nullptr ? hex : "");
    OPENSSL_free(hex);
    return out;
}

std::string normalize_serial(std::string_view text) {
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        text.remove_prefix(2);
    std::string out;
    for (char const c : text) {
        if (c == ':')
            continue;
        if (!std::isxdigit(static_cast<unsigned char>(c)))
            return {};
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    auto const first = out.find_first_not_of('0');
    if (out.empty())
        return {};
    return first == std::string::npos ? "0" : out.substr(first);
}

x509_ptr make_ca_certificate(EVP_PKEY* key, std::string const& name, time_point not_before,
                             time_point not_after) {
    ERR_clear_error();
    x509_ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1)
        fail_internal("cannot allocate a certificate: " + openssl_error());
    auto serial = random_serial();
    X509_set_serialNumber(cert.get(), serial.get());
    set_validity(cert.get(), not_before, not_after);
    X509_NAME* subject = X509_get_subject_name(cert.get());
    add_name_entry(subject, NID_commonName, name);
    X509_set_issuer_name(cert.get(), subject);
    if (X509_set_pubkey(cert.get(), key) != 1)
        fail_internal("cannot set the CA's public key: " + openssl_error());

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
    // After the SKI: for a self-signed certificate the AKI copies it.
    add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
    sign(cert.get(), key);
    return cert;
}

x509_ptr make_leaf_certificate(X509* ca_cert, EVP_PKEY* ca_key, EVP_PKEY* leaf_public_key,
                               leaf_request const& request) {
    ERR_clear_error();
    x509_ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1)
        fail_internal("cannot allocate a certificate: " + openssl_error());
    auto serial = random_serial();
    X509_set_serialNumber(cert.get(), serial.get());
    set_validity(cert.get(), request.not_before, request.not_after);
    X509_NAME* subject = X509_get_subject_name(cert.get());
    for (auto const& group : request.groups)
        add_name_entry(subject, NID_organizationName, group);
    add_name_entry(subject, NID_commonName, request.common_name);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert));
    if (X509_set_pubkey(cert.get(), leaf_public_key) != 1)
        fail_internal("cannot set the certificate's public key: " + openssl_error());

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca_cert, cert.get(), nullptr, nullptr, 0);
    add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), &ctx, NID_key_usage,
                  EVP_PKEY_is_a(leaf_public_key, "RSA")
                      ? "critical,digitalSignature,keyEncipherment"
                      : "critical,digitalSignature");
    add_extension(cert.get(), &ctx, NID_ext_key_usage,
                  request.kind == leaf_kind::server ? "serverAuth" : "clientAuth");
    add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
    add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");

    if (!request.dns.empty() || !request.ips.empty() || !request.uris.empty()) {
        general_names_ptr names(sk_GENERAL_NAME_new_null());
        if (!names)
            fail_internal("cannot allocate subjectAltName: " + openssl_error());
        auto const add_text = [&](int type, std::string const& value, char const* what) {
            GENERAL_NAME* name = GENERAL_NAME_new();
            ASN1_IA5STRING* text = ASN1_IA5STRING_new();
            if (name == nullptr || text == nullptr ||
                ASN1_STRING_set(text, value.data(), static_cast<int>(value.size())) != 1) {
                GENERAL_NAME_free(name);
                ASN1_IA5STRING_free(text);
                fail_internal(std::string("cannot encode ") + what + " " + value + ": " +
                              openssl_error());
            }
            GENERAL_NAME_set0_value(name, type, text);
            sk_GENERAL_NAME_push(names.get(), name);
        };
        for (auto const& dns : request.dns)
            add_text(GEN_DNS, dns, "DNS name");
        for (auto const& uri : request.uris)
            add_text(GEN_URI, uri, "URI");
        for (auto const& ip : request.ips) {
            GENERAL_NAME* name = GENERAL_NAME_new();
            asn1_octet_string_ptr bytes(a2i_IPADDRESS(ip.c_str()));
            if (name == nullptr || !bytes) {
                GENERAL_NAME_free(name);
                fail_internal("cannot encode IP address " + ip + ": " + openssl_error());
            }
            GENERAL_NAME_set0_value(name, GEN_IPADD, bytes.release());
            sk_GENERAL_NAME_push(names.get(), name);
        }
        if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0,
                              X509V3_ADD_DEFAULT) != 1)
            fail_internal("cannot add subjectAltName: " + openssl_error());
    }
    sign(cert.get(), ca_key);
    return cert;
}

bool issued_by(X509* cert, X509* ca) {
    bool const ok =
        X509_check_issued(ca, cert) == X509_V_OK && X509_verify(cert, X509_get0_pubkey(ca)) == 1;
    ERR_clear_error();
    return ok;
}

bool self_signed(X509* cert) {
    bool const ok = X509_self_signed(cert, 1) == 1;
    ERR_clear_error();
    return ok;
}

std::string check_name_value(std::string_view value) {
    if (value.empty())
        return "is empty";
    if (value.size() > 64)
        return "is longer than 64 bytes (the X.509 limit for CN and O)";
    if (value.front() == ' ' || value.back() == ' ')
        return "starts or ends with a space";
    // Well-formed UTF-8 without control characters.
    for (std::size_t i = 0; i < value.size();) {
        auto const c = static_cast<unsigned char>(value[i]);
        if (c < 0x20 || c == 0x7f)
            return "contains a control character";
        std::size_t len = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xe  ? 3
                          : (c >> 3) == 0x1e ? 4
                                             : 0;
        if (len == 0 || i + len > value.size())
            return "is not valid UTF-8";
        for (std::size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(value[i + k]) & 0xc0) != 0x80)
                return "is not valid UTF-8";
        i += len;
    }
    return {};
}

std::string check_dns_name(std::string_view name) {
    if (name.empty())
        return "is empty";
    if (name.size() > 253)
        return "is longer than 253 characters";
    std::string_view rest = name;
    if (rest.starts_with("*."))
        rest.remove_prefix(2);
    if (rest.empty())
        return "has no name after the wildcard";
    while (!rest.empty()) {
        auto const dot = rest.find('.');
        std::string_view const label = rest.substr(0, dot);
        if (label.empty())
            return "has an empty label (two dots in a row, or a leading or trailing dot)";
        if (label.size() > 63)
            return "has a label longer than 63 characters";
        if (label.front() == '-' || label.back() == '-')
            return "has a label that starts or ends with '-'";
        for (char const c : label)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
                return std::string("contains '") + c +
                       "' (only letters, digits, '-' and '.'; '*.' only as a prefix)";
        if (dot == std::string_view::npos)
            break;
        rest.remove_prefix(dot + 1);
        if (rest.empty())
            return "ends with a dot";
    }
    return {};
}

std::string check_ip_address(std::string_view address) {
    std::string const text(address);
    unsigned char buf[16];
    if (inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1)
        return {};
    return "is not an IPv4 or IPv6 address";
}

} // namespace dockgate::certs
