// server, client, renew: issuing leaf certificates from the current CA.

#include <algorithm>
#include <cctype>
#include <set>

#include "certs-tool/command_support.hpp"
#include "certs-tool/commands.hpp"
#include "certs-tool/error.hpp"

namespace dockgate::certs {

namespace {

constexpr int default_server_days = 397;
constexpr int default_client_days = 30;

void check_groups(std::vector<std::string> const& groups) {
    std::set<std::string> seen;
    for (auto const& group : groups) {
        if (auto const why = check_name_value(group); !why.empty())
            fail_user("--group \"" + group + "\": " + why);
        if (!seen.insert(group).second)
            fail_user("--group \"" + group + "\": given twice");
    }
}

// URIs for subjectAltName: an absolute URI with a scheme ("spiffe://trust.domain/path"), printable
// ASCII without spaces (an IA5String holds nothing else), each once.
void check_uris(std::vector<std::string> const& uris) {
    std::set<std::string> seen;
    for (auto const& uri : uris) {
        auto const colon = uri.find(':');
        bool const scheme_ok =
            colon != std::string::npos && colon > 0 &&
            std::isalpha(static_cast<unsigned char>(uri.front())) &&
            std::all_of(uri.begin(), uri.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' ||
                       c == '.';
            });
        bool const printable =
            std::all_of(uri.begin(), uri.end(), [](char c) { return c > 0x20 && c < 0x7f; });
        if (!scheme_ok || !printable || colon + 1 == uri.size())
            fail_user("--uri \"" + uri +
                      "\": not an absolute URI (write e.g. spiffe://example.org/ci/runner-7)");
        if (!seen.insert(uri).second)
            fail_user("--uri \"" + uri + "\": given twice");
    }
}

// DIR/clients/USER, if USER is safe as a folder name.
fs::path default_client_dir(fs::path const& dir, std::string const& user) {
    bool const safe =
        !user.empty() && user.front() != '.' && std::all_of(user.begin(), user.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                   c == '-' || c == '@' || c == '+';
        });
    if (!safe)
        fail_user("USER \"" + user +
                  "\" is not safe as a folder name; pass --out DIR for its bundle");
    return dir / "clients" / user;
}

} // namespace

void run_server(server_options const& options) {
    if (options.dns.empty() && options.ips.empty())
        fail_user("name the gateway: at least one --dns NAME or --ip ADDR (clients check these)");
    std::set<std::string> seen;
    for (auto const& name : options.dns) {
        if (auto const why = check_dns_name(name); !why.empty())
            fail_user("--dns \"" + name + "\": " + why);
        if (!seen.insert(name).second)
            fail_user("--dns \"" + name + "\": given twice");
    }
    for (auto const& ip : options.ips) {
        if (auto const why = check_ip_address(ip); !why.empty())
            fail_user("--ip \"" + ip + "\": " + why);
        if (!seen.insert(ip).second)
            fail_user("--ip \"" + ip + "\": given twice");
    }
    check_days(options.days, "--days");
    leaf_order order;
    order.kind = leaf_kind::server;
    order.name = !options.dns.empty() ? options.dns.front() : options.ips.front();
    order.dns = options.dns;
    order.ips = options.ips;
    order.key = require_key_type(options.key, "--key");
    order.days = options.days;
    auto const pass = read_passphrase(options);

    auto state = pki_state::open(options.dir, dir_lock::mode::exclusive, *options.err);
    order.out_dir = fs::absolute(options.out_dir ? *options.out_dir : state.layout().dir);
    auto const issued =
        issue_leaf(state, order, pass ? &*pass : nullptr, options.clock(), *options.err);
    state.commit();
    print_issued(*options.out, *state.book().find_cert(issued.serial), issued, std::nullopt);
}

void run_client(client_options const& options) {
    if (auto const why = check_name_value(options.user); !why.empty())
        fail_user("USER \"" + options.user + "\": " + why);
    check_groups(options.groups);
    check_uris(options.uris);
    check_days(options.days, "--days");
    check_docker_context(options.docker_context, options.host);
    leaf_order order;
    order.kind = leaf_kind::client;
    order.name = options.user;
    order.groups = options.groups;
    order.uris = options.uris;
    order.key = require_key_type(options.key, "--key");
    order.days = options.days;
    order.docker_context = options.docker_context;
    order.host = options.host;
    order.out_dir = fs::absolute(options.out_dir ? *options.out_dir
                                                 : default_client_dir(options.dir, options.user));
    auto const pass = read_passphrase(options);

    auto state = pki_state::open(options.dir, dir_lock::mode::exclusive, *options.err);
    auto const issued =
        issue_leaf(state, order, pass ? &*pass : nullptr, options.clock(), *options.err);
    state.commit();
    print_issued(*options.out, *state.book().find_cert(issued.serial), issued,
                 options.docker_context);
}

void run_renew(renew_options const& options) {
    if (options.days)
        check_days(*options.days, "--days");
    check_docker_context(options.docker_context, options.host);
    std::optional<key_type> key;
    if (options.key)
        key = require_key_type(*options.key, "--key");
    auto const pass = read_passphrase(options);

    auto state = pki_state::open(options.dir, dir_lock::mode::exclusive, *options.err);
    auto& book = state.book();
    auto const match = resolve_target(state, options.target);
    auto const now = options.clock();

    // By name: the newest certificate of that name that was not renewed yet.
    cert_record* old = nullptr;
    for (auto const& serial : match.serials) {
        cert_record* candidate = book.find_cert(serial);
        if (match.by_name && candidate->superseded_by)
            continue;
        if (old == nullptr || candidate->issued_at >= old->issued_at)
            old = candidate;
    }
    if (old == nullptr)
        fail_user("every certificate of \"" + options.target +
                  "\" was renewed already; renew the newest " + "(see `dockgate-certs list`)");
    if (match.by_name) {
        std::set<leaf_kind> kinds;
        for (auto const& serial : match.serials)
            if (!book.find_cert(serial)->superseded_by)
                kinds.insert(book.find_cert(serial)->kind);
        if (kinds.size() > 1)
            fail_user("\"" + options.target + "\" names both a server and a client certificate; " +
                      "renew by SERIAL (see `dockgate-certs list`)");
    }
    if (old->superseded_by)
        *options.err << "note: " << describe(*old) << " was renewed already (by "
                     << *old->superseded_by << "); issuing another renewal\n";
    if (old->revoked_at)
        *options.err << "note: " << describe(*old)
                     << " is revoked; the renewal is a new, valid certificate\n";
    if (old->kind == leaf_kind::server && options.docker_context)
        fail_user("--docker-context is for client certificates; " + options.target +
                  " is a server's");

    leaf_order order;
    order.kind = old->kind;
    order.name = old->name;
    order.groups = old->groups;
    order.dns = old->dns;
    order.ips = old->ips;
    order.uris = old->uris;
    order.key = key ? *key : old->key;
    order.days = options.days
                     ? *options.days
                     : (old->kind == leaf_kind::server ? default_server_days : default_client_days);
    order.out_dir = fs::absolute(options.out_dir ? *options.out_dir : fs::path(old->out));
    order.docker_context = options.docker_context;
    order.host = options.host;
    order.renewal_of = old->serial;
    std::string const old_serial = old->serial;

    auto const issued = issue_leaf(state, order, pass ? &*pass : nullptr, now, *options.err);
    old = book.find_cert(old_serial); // issue_leaf appended to the ledger
    old->superseded_by = issued.serial;
    bool revoked_now = false;
    if (options.revoke_old && !old->revoked_at) {
        ca_record const* old_ca = book.find_ca(old->ca_id);
        if (old_ca->state == ca_state::retired) {
            *options.err << "note: the old certificate's CA is retired, so it is not trusted "
                            "anyway; not revoking it\n";
        } else {
            old->revoked_at = now;
            old->reason = revocation_reason::superseded;
            state.reissue_crl(old->ca_id, pass ? &*pass : nullptr, now);
            revoked_now = true;
        }
    }
    state.commit();

    auto& out = *options.out;
    print_issued(out, *book.find_cert(issued.serial), issued, options.docker_context);
    out << "renews " << describe(*book.find_cert(old_serial));
    out << (revoked_now ? ", now revoked (superseded); crl.pem updated\n"
                        : ", which stays valid until it expires\n");
}

} // namespace dockgate::certs
