// dockgate-certs: the certificate authority for dockgate. See certs-tool/README.md.
// Exit codes: 0 ok, 1 user error (flags, state, passphrase, refused action), 2 internal error.

#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>

#include "certs-tool/commands.hpp"
#include "certs-tool/error.hpp"
#include "certs-tool/keys.hpp"
#include "certs-tool/revocation_list.hpp"

namespace {

using namespace dockgate::certs;

std::filesystem::path default_dir() {
    char const* env = std::getenv("DOCKGATE_PKI"); // NOLINT(concurrency-mt-unsafe): one thread
    return env != nullptr && *env != '\0' ? std::filesystem::path(env)
                                          : std::filesystem::path("pki");
}

// Optional values (and paths, which CLI11 2.1 would take for containers) are bound to plain
// values and copied over after parsing, if given.
struct optional_binding {
    std::function<void()> apply;
};

template <typename T>
using bound_as = std::conditional_t<std::is_same_v<T, std::filesystem::path>, std::string, T>;

template <typename T>
CLI::Option* add_optional(CLI::App* sub, std::vector<optional_binding>& bindings,
                          std::string const& name, std::optional<T>& target,
                          std::string const& help) {
    auto value = std::make_shared<bound_as<T>>();
    CLI::Option* option = sub->add_option(name, *value, help);
    bindings.push_back({[option, value, &target] {
        if (option->count() > 0)
            target = T(*value);
    }});
    return option;
}

// --dir is accepted before the command too (`dockgate-certs --dir X list`); after it wins.
struct top_level_dir {
    CLI::Option* option = nullptr;
    std::string value;
};

void add_dir(CLI::App* sub, std::vector<optional_binding>& bindings, top_level_dir const& top,
             common_options& o) {
    auto value = std::make_shared<std::string>(default_dir().string());
    CLI::Option* option = sub->add_option(
        "--dir", *value, "The CA's state folder (default: $DOCKGATE_PKI, else ./pki)");
    bindings.push_back({[option, value, &top, &o] {
        o.dir = option->count() == 0 && top.option->count() > 0 ? top.value : *value;
    }});
}

void add_passphrase(CLI::App* sub, std::vector<optional_binding>& bindings, common_options& o) {
    add_optional(sub, bindings, "--passphrase-file", o.passphrase_file,
                 "File whose first line is the CA key's passphrase (if the CA was made with one)");
}

int run(int argc, char** argv) {
    CLI::App app{
        "dockgate-certs: the certificate authority for dockgate. It issues server and client "
        "certificates, revokes, renews and rotates them. DIR/ca.pem is always the trust bundle "
        "and DIR/crl.pem the revocation lists, for the gateway's [listen.tls] ca and crl.",
        "dockgate-certs"};
    app.set_version_flag("--version", DOCKGATE_VERSION);
    app.require_subcommand(1);
    top_level_dir top;
    top.option = app.add_option("--dir", top.value, "The CA's state folder, for any command");
    std::vector<optional_binding> bindings;
    std::function<void()> command;

    std::string const keys = "Key type: " + key_type_names();

    init_options init;
    auto* s =
        app.add_subcommand("init", "Create a self-signed CA in DIR (refuses to overwrite one)");
    add_dir(s, bindings, top, init);
    s->add_option("--name", init.name, "The CA's common name")->capture_default_str();
    s->add_option("--days", init.days, "Validity in days")->capture_default_str();
    s->add_option("--key", init.key, keys)->capture_default_str();
    add_passphrase(s, bindings, init);
    s->callback([&] {
        command = [&] {
            run_init(init);
        };
    });

    server_options server;
    s = app.add_subcommand(
        "server",
        "Issue the gateway's server certificate (server-cert.pem, server-key.pem, ca.pem)");
    add_dir(s, bindings, top, server);
    s->add_option("--dns", server.dns, "DNS names clients connect to (subjectAltName)");
    s->add_option("--ip", server.ips, "IP addresses clients connect to (subjectAltName)");
    s->add_option("--days", server.days, "Validity in days")->capture_default_str();
    add_optional(s, bindings, "--out", server.out_dir,
                 "Folder to write the files to (default: DIR)");
    s->add_option("--key", server.key, keys)->capture_default_str();
    add_passphrase(s, bindings, server);
    s->callback([&] {
        command = [&] {
            run_server(server);
        };
    });

    client_options client;
    s = app.add_subcommand("client",
                           "Issue a client certificate: a folder that works as DOCKER_CERT_PATH");
    add_dir(s, bindings, top, client);
    s->add_option("user", client.user, "The user (certificate CN)")->required();
    s->add_option("--group", client.groups, "Groups of the user (one O= each)");
    s->add_option("--uri", client.uris,
                  "A URI subjectAltName, e.g. spiffe://example.org/ci/runner-7 (the user under "
                  "listen.tls.identity = \"uri_san\")");
    s->add_option("--days", client.days, "Validity in days")->capture_default_str();
    add_optional(s, bindings, "--out", client.out_dir,
                 "Folder to write ca.pem, cert.pem, key.pem to (default: DIR/clients/USER)");
    s->add_option("--key", client.key, keys)->capture_default_str();
    add_optional(s, bindings, "--docker-context", client.docker_context,
                 "Also write OUT/NAME.dockercontext for `docker context import NAME FILE`");
    add_optional(s, bindings, "--host", client.host,
                 "The gateway for the docker context, tcp://HOST:PORT");
    add_passphrase(s, bindings, client);
    s->callback([&] {
        command = [&] {
            run_client(client);
        };
    });

    list_options list;
    s = app.add_subcommand("list", "List every certificate issued, with its status");
    add_dir(s, bindings, top, list);
    add_optional(s, bindings, "--expiring", list.expiring,
                 "Only valid certificates that expire within this time (14d, 36h, ...)");
    s->add_flag("--json", list.json, "JSON instead of a table");
    s->callback([&] {
        command = [&] {
            run_list(list);
        };
    });

    revoke_options revoke;
    s = app.add_subcommand(
        "revoke",
        "Revoke a certificate (by SERIAL or FILE) or all valid ones of a USER, and update crl.pem");
    add_dir(s, bindings, top, revoke);
    s->add_option("target", revoke.target, "USER, SERIAL or certificate FILE")->required();
    s->add_option("--reason", revoke.reason, "Reason: " + revocation_reason_names())
        ->capture_default_str();
    add_passphrase(s, bindings, revoke);
    s->callback([&] {
        command = [&] {
            run_revoke(revoke);
        };
    });

    crl_options crl;
    s = app.add_subcommand(
        "crl", "Re-issue crl.pem (and rebuild ca.pem): run it before the CRLs' next update");
    add_dir(s, bindings, top, crl);
    add_optional(s, bindings, "--days", crl.days, "Days until nextUpdate (remembered; default 7)");
    add_optional(s, bindings, "--publish", crl.publish,
                 "Also write DIR/ca-N.crl (DER, one per CA) and DIR/crl.pem for a web server "
                 "(listen.tls.crl_urls)");
    add_passphrase(s, bindings, crl);
    s->callback([&] {
        command = [&] {
            run_crl(crl);
        };
    });

    renew_options renew;
    s = app.add_subcommand("renew",
                           "Issue a new certificate for the same identity, groups and names");
    add_dir(s, bindings, top, renew);
    s->add_option("target", renew.target, "USER, SERIAL or certificate FILE")->required();
    s->add_flag("--revoke-old", renew.revoke_old, "Revoke the old certificate (reason superseded)");
    add_optional(s, bindings, "--days", renew.days,
                 "Validity in days (default: 397 for servers, 30 for clients)");
    add_optional(s, bindings, "--out", renew.out_dir,
                 "Folder to write to (default: where the old one went)");
    add_optional(s, bindings, "--key", renew.key, keys + " (default: as before)");
    add_optional(s, bindings, "--docker-context", renew.docker_context, "As for `client`");
    add_optional(s, bindings, "--host", renew.host, "As for `client`");
    add_passphrase(s, bindings, renew);
    s->callback([&] {
        command = [&] {
            run_renew(renew);
        };
    });

    rotate_options rotate;
    s = app.add_subcommand(
        "rotate-ca", "Start a CA rotation: a new CA issues, both are trusted until retire-ca");
    add_dir(s, bindings, top, rotate);
    add_optional(s, bindings, "--name", rotate.name,
                 "The new CA's common name (default: the old one's + \" G<N>\")");
    s->add_option("--days", rotate.days, "Validity in days")->capture_default_str();
    add_optional(s, bindings, "--key", rotate.key, keys + " (default: as the current CA)");
    add_passphrase(s, bindings, rotate);
    s->callback([&] {
        command = [&] {
            run_rotate_ca(rotate);
        };
    });

    retire_options retire;
    s = app.add_subcommand("retire-ca",
                           "End a CA rotation: drop the previous CA from ca.pem and crl.pem");
    add_dir(s, bindings, top, retire);
    s->add_flag("--force", retire.force,
                "Retire even though some of its certificates are still valid");
    s->callback([&] {
        command = [&] {
            run_retire_ca(retire);
        };
    });

    try {
        app.parse(argc, argv);
    } catch (CLI::ParseError const& e) {
        int const code = app.exit(e);
        return code == 0 ? 0 : static_cast<int>(exit_code::user_error);
    }
    for (auto const& b : bindings)
        b.apply();
    if (!command)
        return static_cast<int>(exit_code::user_error);
    command();
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (certs_error const& e) {
        std::cerr << "dockgate-certs: " << e.what() << "\n";
        return static_cast<int>(e.code());
    } catch (std::exception const& e) {
        std::cerr << "dockgate-certs: internal error: " << e.what() << "\n";
    } catch (...) {
        std::cerr << "dockgate-certs: internal error\n";
    }
    return static_cast<int>(exit_code::internal_error);
}
