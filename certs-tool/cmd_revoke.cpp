// revoke, crl: the revocation lists in DIR/crl.pem.

#include <set>

#include "certs-tool/command_support.hpp"
#include "certs-tool/commands.hpp"
#include "certs-tool/error.hpp"
#include "certs-tool/files.hpp"
#include "certs-tool/pki_state.hpp"
#include "common/openssl_util.hpp"

namespace dockgate::certs {

void run_revoke(revoke_options const& options) {
    auto const reason = parse_revocation_reason(options.reason);
    if (!reason)
        fail_user("--reason " + options.reason + ": unknown; choose one of " +
                  revocation_reason_names());
    auto const pass = read_passphrase(options);

    auto state = pki_state::open(options.dir, dir_lock::mode::exclusive, *options.err);
    auto& book = state.book();
    auto const match = resolve_target(state, options.target);
    auto const now = options.clock();

    std::vector<std::string> revoked;
    std::set<int> cas;
    for (auto const& serial : match.serials) {
        cert_record* cert = book.find_cert(serial);
        auto const status = status_of(book, *cert, now);
        if (match.by_name) {
            // By USER: every certificate of the user that still works.
            if (status != cert_status::valid && status != cert_status::superseded)
                continue;
        } else if (status == cert_status::revoked) {
            fail_user(describe(*cert) + " was revoked already, on " +
                      format_utc(*cert->revoked_at));
        } else if (status == cert_status::retired) {
            fail_user(describe(*cert) + " was issued by CA " + std::to_string(cert->ca_id) +
                      ", which is retired: no gateway trusts it any more, and it has no CRL to add "
                      "it to");
        }
        cert->revoked_at = now;
        cert->reason = *reason;
        revoked.push_back(cert->serial);
        cas.insert(cert->ca_id);
    }
    if (revoked.empty())
        fail_user("\"" + options.target +
                  "\" has no valid certificate to revoke (see `dockgate-certs list`)");
    for (int const id : cas)
        state.reissue_crl(id, pass ? &*pass : nullptr, now); // a wrong passphrase stops here
    state.commit();

    auto& out = *options.out;
    for (auto const& serial : revoked)
        out << "revoked " << describe(*book.find_cert(serial)) << " ("
            << revocation_reason_name(*reason) << ")\n";
    out << "wrote " << state.layout().crl().string()
        << ": a gateway with `crl` pointing at it (or a copy of it) refuses these certificates "
           "once it reloads\n";
}

// What a CRL distribution point serves: each CA's CRL in DER (application/pkix-crl, the form
// RFC 5280 section 4.2.1.13 names) as DIR/ca-N.crl, and all of them in PEM as DIR/crl.pem.
// Each file appears atomically (temp file + rename), so a web server never serves half a file.
namespace {

void publish_crls(pki_state const& state, std::vector<int> const& ids, fs::path const& dir,
                  std::ostream& out) {
    write_plan plan;
    plan.add_dir(dir, 0755);
    for (int const id : ids) {
        X509_CRL* crl = state.crl(id);
        if (crl == nullptr)
            fail_internal("CA " + std::to_string(id) + " has no CRL to publish");
        plan.add_file(dir / ("ca-" + std::to_string(id) + ".crl"), to_der(crl));
    }
    plan.add_file(dir / "crl.pem", state.crl_pem());
    plan.commit();
    for (auto const& file : plan.files())
        out << "published " << file.string() << "\n";
}

} // namespace

void run_crl(crl_options const& options) {
    if (options.days)
        check_days(*options.days, "--days");
    auto const pass = read_passphrase(options);

    // ca.pem and crl.pem are rebuilt from the ledger here, so they may be missing or damaged.
    auto state = pki_state::open(options.dir, dir_lock::mode::exclusive, *options.err,
                                 pki_state::derived_files::rebuild);
    auto& book = state.book();
    if (options.days)
        book.crl_days = *options.days;
    auto const now = options.clock();
    std::vector<int> ids;
    for (auto const* ca : book.cas_in_force())
        ids.push_back(ca->id);
    for (int const id : ids)
        state.reissue_crl(id, pass ? &*pass : nullptr, now);
    state.commit();

    auto& out = *options.out;
    for (int const id : ids) {
        auto const* ca = book.find_ca(id);
        std::size_t revoked = 0;
        for (auto const& cert : book.certs)
            revoked += cert.ca_id == id && cert.revoked_at;
        out << "CRL " << ca->crl_number << " of CA " << id << " (\"" << ca->name
            << "\"): " << revoked << " revoked, next update "
            << format_utc(now + std::chrono::hours(24) * book.crl_days) << "\n";
    }
    for (auto const& file : state.plan().files())
        out << "wrote " << file.string() << "\n";
    if (options.publish)
        publish_crls(state, ids, *options.publish, out);
}

} // namespace dockgate::certs
