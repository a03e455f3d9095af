#include "certs-tool/command_support.hpp"

#include <algorithm>

#include "certs-tool/docker_context.hpp"
#include "certs-tool/error.hpp"

namespace dockgate::certs {

time_point common_options::clock() const {
    return std::chrono::floor<std::chrono::seconds>(now ? *now : std::chrono::system_clock::now());
}

std::optional<passphrase> read_passphrase(common_options const& options) {
    if (!options.passphrase_file)
        return std::nullopt;
    return passphrase::from_file(*options.passphrase_file);
}

void check_days(int days, std::string_view flag) {
    if (days < 1 || days > 36500)
        fail_user(std::string(flag) + " " + std::to_string(days) +
                  ": must be between 1 and 36500 days");
}

key_type require_key_type(std::string_view name, std::string_view flag) {
    auto const type = parse_key_type(name);
    if (!type)
        fail_user(std::string(flag) + " " + std::string(name) +
                  ": unknown key type; choose one of " + key_type_names());
    return *type;
}

void check_docker_context(std::optional<std::string> const& name,
                          std::optional<std::string> const& host) {
    if (name.has_value() != host.has_value())
        fail_user(
            "--docker-context NAME and --host tcp://HOST:PORT go together: pass both or neither");
    if (!name)
        return;
    if (auto const why = check_context_name(*name); !why.empty())
        fail_user("--docker-context " + *name + ": " + why);
    if (auto const why = check_context_host(*host); !why.empty())
        fail_user("--host " + *host + ": " + why);
}

target_match resolve_target(pki_state& state, std::string const& text) {
    auto& book = state.book();
    target_match match;
    std::error_code ec;
    if (text.empty())
        fail_user("name a certificate: a USER (its CN), a SERIAL (see `dockgate-certs list`) or a "
                  "certificate FILE");
    bool const looks_like_file =
        text.find('/') != std::string::npos || text.ends_with(".pem") || text.ends_with(".crt");
    if (looks_like_file && fs::is_regular_file(text, ec)) {
        auto const pem = read_file(text, "pass a USER, a SERIAL or an existing certificate file");
        auto certs = parse_pem_certificates(pem);
        if (!certs || certs->empty())
            fail_user(text + ": not a PEM certificate");
        X509* cert = certs->front().get();
        bool ours = false;
        for (auto const& ca : book.cas) {
            auto ca_pem = read_file_if_exists(state.layout().ca_cert(ca.id));
            auto ca_certs = ca_pem ? parse_pem_certificates(*ca_pem) : std::nullopt;
            if (ca_certs && ca_certs->size() == 1 && issued_by(cert, ca_certs->front().get()))
                ours = true;
        }
        if (!ours)
            fail_user(text + ": a certificate from another CA (issuer \"" +
                      name_line(X509_get_issuer_name(cert)) + "\"), not one of " +
                      state.layout().dir.string() + "; nothing was changed");
        auto const serial = serial_text(X509_get0_serialNumber(cert));
        if (book.find_ca_by_serial(serial) != nullptr)
            fail_user(text + ": a CA certificate; CAs are replaced with rotate-ca and retire-ca");
        if (book.find_cert(serial) == nullptr)
            fail_user(text + ": issued by this CA but serial " + serial +
                      " is not in ledger.json (was the ledger restored from an older backup?)");
        match.serials.push_back(book.find_cert(serial)->serial);
        return match;
    }
    if (auto* cert = book.find_cert(text)) {
        match.serials.push_back(cert->serial);
        return match;
    }
    if (book.find_ca_by_serial(text) != nullptr)
        fail_user(
            text +
            ": the serial of a CA certificate; CAs are replaced with rotate-ca and retire-ca");
    for (auto const& cert : book.certs)
        if (cert.name == text)
            match.serials.push_back(cert.serial);
    if (match.serials.empty())
        fail_user("no certificate with serial or name \"" + text + "\" in " +
                  state.layout().ledger_file().string() + " (see `dockgate-certs list`)");
    match.by_name = true;
    return match;
}

issued_leaf issue_leaf(pki_state& state, leaf_order const& order, passphrase const* pass,
                       time_point now, std::ostream& notices) {
    auto& book = state.book();
    ca_record const* ca = book.current_ca();
    X509* ca_cert = state.ca_cert(ca->id);
    EVP_PKEY* ca_key = state.ca_key(ca->id, pass); // first: a wrong passphrase stops here
    if (now >= ca->not_after)
        fail_user("the current CA (\"" + ca->name + "\") expired on " + format_utc(ca->not_after) +
                  "; replace it with `dockgate-certs rotate-ca`");

    leaf_request request;
    request.kind = order.kind;
    request.common_name = order.name;
    request.groups = order.groups;
    request.dns = order.dns;
    request.uris = order.uris;
    request.ips = order.ips;
    request.not_before = std::max(now - clock_skew_allowance, ca->not_before);
    request.not_after = now + std::chrono::hours(24) * order.days;
    if (request.not_after > ca->not_after) {
        request.not_after = ca->not_after;
        notices << "note: the certificate ends with the CA on " << format_utc(ca->not_after)
                << ", not after " << order.days << " days\n";
    }
    pkey_ptr key = generate_key(order.key);
    x509_ptr cert = make_leaf_certificate(ca_cert, ca_key, key.get(), request);

    cert_record record;
    record.serial = serial_text(X509_get0_serialNumber(cert.get()));
    record.kind = order.kind;
    record.ca_id = ca->id;
    record.name = order.name;
    record.groups = order.groups;
    record.dns = order.dns;
    record.uris = order.uris;
    record.ips = order.ips;
    record.subject = subject_line(cert.get());
    record.key = order.key;
    record.not_before = request.not_before;
    record.not_after = request.not_after;
    record.issued_at = now;
    record.out = order.out_dir.string();
    record.renewal_of = order.renewal_of;

    auto& plan = state.plan();
    issued_leaf issued{record.serial, record.not_after, {}};
    std::string const cert_pem = to_pem(cert.get());
    std::string const bundle = state.bundle_pem();
    std::error_code ec;
    bool const out_is_dir = fs::equivalent(order.out_dir, state.layout().dir, ec);
    plan.add_dir(order.out_dir, 0700);
    if (!out_is_dir) {
        plan.add_file(order.out_dir / "ca.pem", bundle);
        issued.files.push_back(order.out_dir / "ca.pem");
    }
    bool const server = order.kind == leaf_kind::server;
    auto const cert_file = order.out_dir / (server ? "server-cert.pem" : "cert.pem");
    auto const key_file = order.out_dir / (server ? "server-key.pem" : "key.pem");
    std::string key_pem = private_key_pem(key.get(), nullptr);
    plan.add_file(cert_file, cert_pem);
    issued.files.push_back(cert_file);
    if (order.docker_context) {
        std::string description = "dockgate: " + order.name;
        if (!order.groups.empty()) {
            description += " (";
            for (std::size_t i = 0; i < order.groups.size(); ++i)
                description += (i > 0 ? ", " : "") + order.groups[i];
            description += ")";
        }
        description += ", certificate " + record.serial + " until " + format_utc(record.not_after);
        auto const file = order.out_dir / (*order.docker_context + ".dockercontext");
        plan.add_secret(file, docker_context_archive({*order.docker_context, description,
                                                      *order.host, bundle, cert_pem, key_pem},
                                                     now));
        issued.files.push_back(file);
    }
    plan.add_secret(key_file, std::move(key_pem));
    issued.files.push_back(key_file);
    plan.add_dir(state.layout().issued_dir(), 0755);
    plan.add_file(state.layout().issued(record.serial), cert_pem);
    book.certs.push_back(std::move(record));
    return issued;
}

std::string describe(cert_record const& cert) {
    return std::string(kind_name(cert.kind)) + " certificate of " + cert.name + " (serial " +
           cert.serial + ")";
}

void print_issued(std::ostream& out, cert_record const& cert, issued_leaf const& issued,
                  std::optional<std::string> const& docker_context) {
    out << "issued " << describe(cert) << "\n";
    out << "  subject    " << cert.subject << "\n";
    out << "  valid      " << format_utc(cert.not_before) << " to " << format_utc(cert.not_after)
        << "\n";
    for (auto const& file : issued.files)
        out << "  wrote      " << file.string() << "\n";
    if (cert.kind == leaf_kind::client) {
        out << "use it with: DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=" << cert.out
            << " DOCKER_HOST=tcp://GATEWAY:2376 docker ps\n";
        if (docker_context)
            out << "or: docker context import " << *docker_context << " "
                << (fs::path(cert.out) / (*docker_context + ".dockercontext")).string() << "\n";
    } else {
        out << "point [listen.tls] cert and key at these files; ca and crl at "
            << "ca.pem and crl.pem of the CA folder\n";
    }
}

} // namespace dockgate::certs
