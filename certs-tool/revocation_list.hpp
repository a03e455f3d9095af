#pragma once
// Certificate revocation lists: the RFC 5280 reason codes dockgate-certs accepts and building
// one CA's CRL from the revocations the ledger records.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "certs-tool/certificates.hpp"

namespace dockgate::certs {

/// RFC 5280 CRLReason values. certificateHold and removeFromCRL are left out on purpose:
/// a revocation here is final.
enum class revocation_reason : int {
    unspecified = 0,
    key_compromise = 1,
    ca_compromise = 2,
    affiliation_changed = 3,
    superseded = 4,
    cessation_of_operation = 5,
    privilege_withdrawn = 9,
};

/// "keyCompromise", "superseded", ... (RFC 5280 spelling).
std::optional<revocation_reason> parse_revocation_reason(std::string_view name);
std::string_view revocation_reason_name(revocation_reason reason);
std::string revocation_reason_names();

struct revoked_serial {
    std::string serial; // upper-case hex
    time_point revoked_at;
    revocation_reason reason = revocation_reason::unspecified;
};

/// A v2 CRL issued by `ca_cert`: thisUpdate `now`, nextUpdate `next_update`, a cRLNumber, the
/// authority key identifier, and one entry per revoked serial (with a reasonCode unless it
/// is unspecified), signed with `ca_key`.
x509_crl_ptr make_crl(X509* ca_cert, EVP_PKEY* ca_key, std::vector<revoked_serial> const& revoked,
                      long crl_number, time_point now, time_point next_update);

/// True if `crl` names `ca` as issuer and carries a valid signature from its key.
bool crl_signed_by(X509_CRL* crl, X509* ca);

} // namespace dockgate::certs
