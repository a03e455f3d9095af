// init, rotate-ca, retire-ca: the CA's own life cycle.

#include <algorithm>
#include <cctype>

#include "certs-tool/command_support.hpp"
#include "certs-tool/commands.hpp"
#include "certs-tool/error.hpp"

namespace dockgate::certs {

namespace {

void check_new_key_passphrase(std::optional<passphrase> const& pass) {
    if (pass && pass->value().size() < 8)
        fail_user(pass->file().string() + ": the passphrase is shorter than 8 characters; " +
                  "a CA key deserves a long one");
}

void check_ca_name(std::string const& name) {
    if (auto const why = check_name_value(name); !why.empty())
        fail_user("--name \"" + name + "\": " + why);
}

// "Acme CA" -> "Acme CA G2"; "Acme CA G2" -> "Acme CA G3".
std::string rotated_name(std::string const& name, int id) {
    std::string base = name;
    auto const g = base.rfind(" G");
    if (g != std::string::npos && g + 2 < base.size() &&
        std::all_of(base.begin() + static_cast<long>(g) + 2, base.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        base.resize(g);
    std::string out = base + " G" + std::to_string(id);
    if (out.size() > 64)
        out = base.substr(0, 64 - (out.size() - base.size())) + " G" + std::to_string(id);
    return out;
}

// Makes a CA key pair and certificate and adds them (and an empty first CRL) to the state.
ca_record const& add_new_ca(pki_state& state, std::string const& name, key_type type, int days,
                            passphrase const* pass, time_point now) {
    pkey_ptr key = generate_key(type);
    x509_ptr cert = make_ca_certificate(key.get(), name, now - clock_skew_allowance,
                                        now + std::chrono::hours(24) * days);
    ca_record record;
    record.id = state.book().next_ca_id();
    record.serial = serial_text(X509_get0_serialNumber(cert.get()));
    record.name = name;
    record.key = type;
    record.key_encrypted = pass != nullptr;
    record.state = ca_state::current;
    record.not_before = now - clock_skew_allowance;
    record.not_after = now + std::chrono::hours(24) * days;
    record.created_at = now;
    int const id = record.id;
    state.add_ca(std::move(record), std::move(cert), std::move(key), pass);
    state.reissue_crl(id, pass, now);
    return *state.book().find_ca(id);
}

void print_ca(std::ostream& out, pki_state const& state, ca_record const& ca) {
    out << "  CA " << ca.id << "       CN=" << ca.name << ", " << key_type_name(ca.key)
        << (ca.key_encrypted ? " (key encrypted)" : "") << ", serial " << ca.serial << "\n";
    out << "  valid      " << format_utc(ca.not_before) << " to " << format_utc(ca.not_after)
        << "\n";
    out << "  bundle     " << state.layout().bundle().string() << "\n";
    out << "  CRL        " << state.layout().crl().string() << " (next update in "
        << state.book().crl_days << " days: run `dockgate-certs crl` before then, e.g. daily)\n";
}

} // namespace

void run_init(init_options const& options) {
    check_days(options.days, "--days");
    key_type const type = require_key_type(options.key, "--key");
    check_ca_name(options.name);
    auto const pass = read_passphrase(options);
    check_new_key_passphrase(pass);

    auto state = pki_state::create(options.dir, *options.err);
    auto const now = options.clock();
    auto const& ca =
        add_new_ca(state, options.name, type, options.days, pass ? &*pass : nullptr, now);
    state.commit();

    auto& out = *options.out;
    out << "created CA \"" << ca.name << "\" in " << state.layout().dir.string() << "\n";
    print_ca(out, state, ca);
    out.flush(); // the summary is whole before the note, wherever both streams go
    if (!pass)
        *options.err << "note: the CA key " << state.layout().ca_key(ca.id).string()
                     << " is not encrypted: whoever can read it can issue certificates "
                        "(init with --passphrase-file to encrypt it)\n";
}

void run_rotate_ca(rotate_options const& options) {
    check_days(options.days, "--days");
    auto const pass = read_passphrase(options);
    auto state = pki_state::open(options.dir, dir_lock::mode::exclusive, *options.err);
    auto& book = state.book();
    ca_record* current = book.current_ca();
    if (ca_record const* previous = book.previous_ca())
        fail_user("CA " + std::to_string(previous->id) + " (\"" + previous->name +
                  "\") is still in force from the last rotation; finish it with `dockgate-certs "
                  "retire-ca` first");
    key_type const type = options.key ? require_key_type(*options.key, "--key") : current->key;
    std::string const name =
        options.name ? *options.name : rotated_name(current->name, book.next_ca_id());
    check_ca_name(name);
    if (name == current->name)
        fail_user("--name \"" + name + "\": the current CA has this name; two CAs in force need " +
                  "different names so that CRLs and chains are found by name");
    if (current->key_encrypted && !pass)
        fail_user("the current CA key is encrypted: pass --passphrase-file (the new key is "
                  "encrypted with "
                  "the same passphrase)");
    // Proves the passphrase opens the current key before a new key is encrypted with it: both
    // CAs must open with the same --passphrase-file for as long as they are both in force.
    state.ca_key(current->id, pass ? &*pass : nullptr);
    check_new_key_passphrase(pass);

    auto const now = options.clock();
    int const old_id = current->id;
    current->state = ca_state::previous;
    auto const& ca = add_new_ca(state, name, type, options.days, pass ? &*pass : nullptr, now);
    state.commit();

    auto const* old = book.find_ca(old_id);
    auto& out = *options.out;
    out << "rotated: CA " << ca.id << " (\"" << ca.name << "\") now issues certificates; CA "
        << old->id << " (\"" << old->name << "\") stays trusted until `retire-ca`\n";
    print_ca(out, state, ca);
    out << "next: renew every certificate (`dockgate-certs renew USER`), the server's last, then "
           "`dockgate-certs retire-ca` (see certs-tool/README.md)\n";
}

void run_retire_ca(retire_options const& options) {
    auto state = pki_state::open(options.dir, dir_lock::mode::exclusive, *options.err);
    auto& book = state.book();
    ca_record* previous = book.previous_ca();
    if (previous == nullptr)
        fail_user("no previous CA to retire: only CA " + std::to_string(book.current_ca()->id) +
                  " is in force (retire-ca ends a rotation that rotate-ca started)");
    auto const now = options.clock();
    std::vector<cert_record const*> live;
    for (auto const& cert : book.certs)
        if (cert.ca_id == previous->id && status_of(book, cert, now) == cert_status::valid)
            live.push_back(&cert);
    if (!live.empty() && !options.force) {
        std::string message =
            std::to_string(live.size()) + " certificate(s) of CA " + std::to_string(previous->id) +
            " are still valid and were not renewed; " + "retiring it now would lock them out:";
        for (std::size_t i = 0; i < live.size() && i < 10; ++i)
            message += "\n  " + describe(*live[i]);
        if (live.size() > 10)
            message += "\n  ...";
        message +=
            "\nrenew them (`dockgate-certs renew SERIAL`) first, or pass --force to cut them off";
        fail_user(message);
    }
    previous->state = ca_state::retired;
    previous->retired_at = now;
    int const id = previous->id;
    state.drop_from_force(id);
    state.commit();

    auto const* current = book.current_ca();
    auto& out = *options.out;
    out << "retired CA " << id << " (\"" << book.find_ca(id)->name
        << "\"): " << state.layout().bundle().string() << " and " << state.layout().crl().string()
        << " now hold only CA " << current->id << " (\"" << current->name << "\")\n";
    if (!live.empty())
        out << "cut off " << live.size() << " certificate(s) that were still valid (--force)\n";
}

} // namespace dockgate::certs
