#pragma once
// CRLs that arrive as bytes (fetched from listen.tls.crl_urls): parsing DER or PEM, the issuer
// check every CRL passes before use, and when to fetch again.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <openssl/x509.h>

#include "common/duration.hpp"

namespace dockgate::tls {

struct tls_material;

using crl_ptr = std::shared_ptr<X509_CRL>;

/// Every CRL in `body`: one DER CRL, or one or more PEM "X509 CRL" blocks. Returns the reason
/// when there is none or the body is neither.
std::variant<std::vector<crl_ptr>, std::string> parse_crls(std::string_view body);

/// Why `crl` may not be used with `material`'s trust store (its issuer is no CA in
/// listen.tls.ca, or no such CA's key verifies its signature), or nullopt when it may.
std::optional<std::string> crl_issuer_problem(tls_material const& material, X509_CRL* crl);

/// The CRL's nextUpdate, when it has one.
std::optional<std::chrono::system_clock::time_point> crl_next_update(X509_CRL const* crl);

/// Why `next` may not replace `held` (the CRLs in hand from the same URL): a CRL of the same
/// issuer with an earlier thisUpdate is a replay or a stale mirror, and taking it would bring
/// back revoked certificates. nullopt when it may.
std::optional<std::string> crl_rollback_problem(std::vector<crl_ptr> const& held,
                                                std::vector<crl_ptr> const& next);

/// The CRL's issuer, one line ("CN=dockgate CA,O=example").
std::string crl_issuer(X509_CRL const* crl);

/// How long to wait before the next fetch: `refresh`, or less when the earliest nextUpdate of
/// the CRL in hand comes sooner (then just after it, so the new CRL is there). Past nextUpdate
/// (stale), every 30 s at the most. Never less than `floor`.
duration next_fetch_delay(duration refresh, std::chrono::system_clock::time_point now,
                          std::optional<std::chrono::system_clock::time_point> next_update,
                          duration floor = std::chrono::seconds(1));

} // namespace dockgate::tls
