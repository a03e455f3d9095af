#include "common/x509_name.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>

namespace dockgate {

std::optional<std::vector<std::string>> subject_values(X509 const* cert, int nid) {
    std::vector<std::string> values;
    X509_NAME const* name = X509_get_subject_name(cert);
    if (name == nullptr)
        return values;
    for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
         i = X509_NAME_get_index_by_NID(name, nid, i)) {
        ASN1_STRING const* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        unsigned char* utf8 = nullptr;
        int const len = ASN1_STRING_to_UTF8(&utf8, data);
        if (len < 0)
            return std::nullopt;
        values.emplace_back(reinterpret_cast<char const*>(utf8), static_cast<std::size_t>(len));
        OPENSSL_free(utf8);
    }
    return values;
}

std::string subject_line(X509 const* cert) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0,
                                   XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
        return {};
    char* data = nullptr;
    long const len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::string serial_hex(X509 const* cert) {
    std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
        ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr), &BN_free);
    if (!bn)
        return {};
    char* hex = BN_bn2hex(bn.get());
    std::string out(hex != nullptr ? hex : "");
    OPENSSL_free(hex);
    return out;
}

} // namespace dockgate
