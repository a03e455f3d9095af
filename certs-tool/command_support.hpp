#pragma once
// What several commands share: option checks, finding the certificates a USER|SERIAL|FILE
// argument means, and issuing one leaf into a pki_state's plan.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "certs-tool/commands.hpp"
#include "certs-tool/keys.hpp"
#include "certs-tool/pki_state.hpp"

namespace dockgate::certs {

/// The passphrase of --passphrase-file, if given.
std::optional<passphrase> read_passphrase(common_options const& options);

/// A validity in days, 1 to 36500; else a user error naming `flag`.
void check_days(int days, std::string_view flag);

/// A --key value; else a user error listing the choices.
key_type require_key_type(std::string_view name, std::string_view flag);

/// A docker context name the docker CLI accepts and a tcp:// host; else a user error.
void check_docker_context(std::optional<std::string> const& name,
                          std::optional<std::string> const& host);

/// The leaves a USER|SERIAL|FILE argument names. A FILE must hold a certificate this CA issued
/// (else "a certificate from another CA"); a SERIAL is looked up in the ledger first, so a user
/// whose name looks like hex is still found by name when no serial matches.
struct target_match {
    std::vector<std::string> serials; // ledger order
    bool by_name = false;
};
target_match resolve_target(pki_state& state, std::string const& text);

struct leaf_order {
    leaf_kind kind = leaf_kind::client;
    std::string name;
    std::vector<std::string> groups;
    std::vector<std::string> dns;
    std::vector<std::string> ips;
    std::vector<std::string> uris;
    key_type key = key_type::ec_p256;
    int days = 30;
    fs::path out_dir;
    std::optional<std::string> docker_context;
    std::optional<std::string> host;
    std::optional<std::string> renewal_of;
};

struct issued_leaf {
    std::string serial;
    time_point not_after;
    std::vector<fs::path> files; // what the admin hands out
};

/// Signs a new leaf with the current CA (not valid past the CA's own expiry), records it in the
/// ledger, and adds its files to the plan: OUT/{ca.pem, cert.pem, key.pem} for a client,
/// OUT/{ca.pem, server-cert.pem, server-key.pem} for a server (ca.pem skipped when OUT is DIR,
/// which holds the bundle already), the docker context archive if asked, and DIR/issued/SERIAL.pem.
issued_leaf issue_leaf(pki_state& state, leaf_order const& order, passphrase const* pass,
                       time_point now, std::ostream& notices);

/// `client certificate of alice (serial 3F2A...)`, for messages. The serial is always in full:
/// it is what admins copy into revoke and renew.
std::string describe(cert_record const& cert);

/// Prints the files of an issued leaf and how to use them.
void print_issued(std::ostream& out, cert_record const& cert, issued_leaf const& issued,
                  std::optional<std::string> const& docker_context);

} // namespace dockgate::certs
