#pragma once
// The ledger: every CA and every certificate dockgate-certs has issued, with what it needs to
// renew, revoke and list them. It is DIR/ledger.json (Boost.JSON), the source of truth from
// which ca.pem and crl.pem are derived. This file is pure: no I/O, no OpenSSL.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "certs-tool/certificates.hpp"
#include "certs-tool/keys.hpp"
#include "certs-tool/revocation_list.hpp"

namespace dockgate::certs {

/// A CA's place in the rotation: `current` signs new certificates; `previous` is the CA that
/// rotate-ca replaced, still trusted (in ca.pem, with its CRL in crl.pem) until retire-ca;
/// `retired` is kept for the record only.
enum class ca_state { current, previous, retired };

struct ca_record {
    int id = 0;         // 1, 2, ... in order of creation; names the files in DIR/cas
    std::string serial; // upper-case hex
    std::string name;   // the subject CN
    key_type key = key_type::ec_p256;
    bool key_encrypted = false;
    ca_state state = ca_state::current;
    time_point not_before;
    time_point not_after;
    time_point created_at;
    std::optional<time_point> retired_at;
    long crl_number = 0; // of the last CRL issued; the next one gets crl_number + 1
};

struct cert_record {
    std::string serial; // upper-case hex
    leaf_kind kind = leaf_kind::client;
    int ca_id = 0;    // the issuing CA
    std::string name; // the CN: the user for clients, the first SAN for servers
    std::vector<std::string> groups;
    std::vector<std::string> dns;
    std::vector<std::string> ips;
    std::vector<std::string> uris;
    std::string subject; // RFC 2253, for display
    key_type key = key_type::ec_p256;
    time_point not_before;
    time_point not_after;
    time_point issued_at;
    std::string out; // the folder the bundle was written to
    std::optional<time_point> revoked_at;
    revocation_reason reason = revocation_reason::unspecified;
    std::optional<std::string> superseded_by; // the serial of its renewal
    std::optional<std::string> renewal_of;    // the serial it renewed
};

struct ledger {
    int crl_days = 7; // nextUpdate of the CRLs this tool writes, set by `crl --days`
    std::vector<ca_record> cas;
    std::vector<cert_record> certs;

    ca_record* current_ca();
    ca_record const* current_ca() const;
    ca_record* previous_ca();
    ca_record const* previous_ca() const;
    ca_record* find_ca(int id);
    ca_record const* find_ca(int id) const;
    /// The CAs in force (current first, then previous): those in ca.pem and crl.pem.
    std::vector<ca_record const*> cas_in_force() const;
    /// By serial in any spelling normalize_serial() accepts; nullptr if unknown.
    cert_record* find_cert(std::string_view serial);
    ca_record* find_ca_by_serial(std::string_view serial);
    int next_ca_id() const;
};

enum class cert_status { valid, expired, revoked, superseded, retired };
std::string_view status_name(cert_status status);

/// A leaf: revoked, else expired, else `retired` if its CA is no longer in force, else
/// superseded if it was renewed, else valid.
cert_status status_of(ledger const& book, cert_record const& cert, time_point now);
/// A CA: retired, else expired, else superseded while it is the previous CA, else valid.
cert_status status_of(ca_record const& ca, time_point now);

std::string_view kind_name(leaf_kind kind);
std::string_view state_name(ca_state state);

/// Indented JSON text, ending with a newline.
std::string serialize_ledger(ledger const& book);

/// Parses and checks the ledger (types, unique serials, CA references, exactly one current CA,
/// at most one previous). Throws a user error starting with `file` and naming the JSON path.
ledger parse_ledger(std::string_view text, std::string const& file);

} // namespace dockgate::certs
