#include "common/openssl_util.hpp"

#include <charconv>
#include <cstdio>

#include <openssl/err.h>
#include <openssl/pem.h>

namespace dockgate {

std::string openssl_error(std::string_view fallback) {
    std::string out;
    while (unsigned long const e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty())
            out += "; ";
        out += buf;
    }
    return out.empty() ? std::string(fallback) : out;
}

namespace {

bio_ptr memory_bio(std::string_view data) {
    return bio_ptr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bio_contents(BIO* bio) {
    char* data = nullptr;
    long const len = BIO_get_mem_data(bio, &data);
    return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

// Reads every PEM block of `pem`: each must carry `wanted` as its label.
template <typename Ptr, typename Decode>
std::optional<std::vector<Ptr>> parse_blocks(std::string_view pem, char const* wanted,
                                             Decode decode) {
    std::vector<Ptr> out;
    if (pem.empty())
        return out;
    auto bio = memory_bio(pem);
    if (!bio)
        return std::nullopt;
    for (;;) {
        char* name = nullptr;
        char* header = nullptr;
        unsigned char* data = nullptr;
        long len = 0;
        if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
            // PEM_R_NO_START_LINE at the end of the text is the normal way out.
            unsigned long const e = ERR_peek_last_error();
            bool const at_end =
                ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
            ERR_clear_error();
            if (!at_end)
                return std::nullopt;
            return out;
        }
        bool const label_ok = std::string_view(name) == wanted;
        unsigned char const* p = data;
        Ptr item(label_ok ? decode(&p, len) : nullptr);
        bool const whole = item && p == data + len;
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        if (!whole) {
            ERR_clear_error();
            return std::nullopt;
        }
        out.push_back(std::move(item));
    }
}

} // namespace

std::optional<std::vector<x509_ptr>> parse_pem_certificates(std::string_view pem) {
    return parse_blocks<x509_ptr>(pem, PEM_STRING_X509, [](unsigned char const** p, long len) {
        return d2i_X509(nullptr, p, len);
    });
}

std::optional<std::vector<x509_crl_ptr>> parse_pem_crls(std::string_view pem) {
    return parse_blocks<x509_crl_ptr>(
        pem, PEM_STRING_X509_CRL,
        [](unsigned char const** p, long len) { return d2i_X509_CRL(nullptr, p, len); });
}

std::string to_pem(X509* cert) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
        return {};
    return bio_contents(bio.get());
}

std::string to_pem(X509_CRL* crl) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl) != 1)
        return {};
    return bio_contents(bio.get());
}

std::string to_der(X509* cert) {
    unsigned char* der = nullptr;
    int const len = i2d_X509(cert, &der);
    if (len <= 0)
        return {};
    std::string out(reinterpret_cast<char const*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
}

std::string to_der(X509_CRL* crl) {
    unsigned char* der = nullptr;
    int const len = i2d_X509_CRL(crl, &der);
    if (len <= 0)
        return {};
    std::string out(reinterpret_cast<char const*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
}

std::optional<std::chrono::system_clock::time_point> to_time_point(ASN1_TIME const* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1)
        return std::nullopt;
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string format_utc(std::chrono::system_clock::time_point t) {
    std::time_t const secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[80];
    (void)std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::optional<std::chrono::system_clock::time_point> parse_utc(std::string_view text) {
    // Exactly YYYY-MM-DDTHH:MM:SSZ.
    if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
        text[13] != ':' || text[16] != ':' || text[19] != 'Z')
        return std::nullopt;
    auto field = [&](std::size_t pos, std::size_t len, int& out) {
        auto const* first = text.data() + pos;
        auto const [end, ec] = std::from_chars(first, first + len, out);
        return ec == std::errc() && end == first + len;
    };
    std::tm tm{};
    int year = 0, month = 0;
    if (!field(0, 4, year) || !field(5, 2, month) || !field(8, 2, tm.tm_mday) ||
        !field(11, 2, tm.tm_hour) || !field(14, 2, tm.tm_min) || !field(17, 2, tm.tm_sec))
        return std::nullopt;
    if (month < 1 || month > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return std::nullopt;
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string name_line(X509_NAME const* name) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio || name == nullptr ||
        X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
        return {};
    return bio_contents(bio.get());
}

std::string subject_key_id_hex(X509* cert) {
    ASN1_OCTET_STRING const* id = X509_get0_subject_key_id(cert);
    if (id == nullptr)
        return {};
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    unsigned char const* data = ASN1_STRING_get0_data(id);
    for (int i = 0; i < ASN1_STRING_length(id); ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 0x0f];
    }
    return out;
}

} // namespace dockgate
