#pragma once
// The dockgate-certs commands as functions, so that main() and the tests run the same code.
// Each run_* takes its options, writes results to `out` and notices to `err`, and throws
// certs_error (see error.hpp) on failure, having changed nothing on disk.

#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "certs-tool/certificates.hpp"

namespace dockgate::certs {

struct common_options {
    std::filesystem::path dir = "pki";                    // --dir (DOCKGATE_PKI, else ./pki)
    std::optional<std::filesystem::path> passphrase_file; // --passphrase-file
    std::ostream* out = &std::cout;
    std::ostream* err = &std::cerr;
    std::optional<time_point> now; // tests: the time the command acts at

    /// `now`, or the system clock, to whole seconds (what certificates and the ledger hold).
    time_point clock() const;
};

struct init_options : common_options {
    std::string name = "dockgate CA";
    int days = 3650;
    std::string key = "ec-p256";
};

struct server_options : common_options {
    std::vector<std::string> dns;
    std::vector<std::string> ips;
    int days = 397;
    std::optional<std::filesystem::path> out_dir; // default: DIR itself
    std::string key = "ec-p256";
};

struct client_options : common_options {
    std::string user;
    std::vector<std::string> groups;
    std::vector<std::string> uris; // URI SANs: a SPIFFE ID, for listen.tls.identity = "uri_san"
    int days = 30;
    std::optional<std::filesystem::path> out_dir; // default: DIR/clients/USER
    std::string key = "ec-p256";
    std::optional<std::string> docker_context; // writes OUT/NAME.dockercontext
    std::optional<std::string> host;           // its docker endpoint, tcp://HOST:PORT
};

struct list_options : common_options {
    std::optional<std::string> expiring; // "14d": only live certificates expiring within it
    bool json = false;
};

struct revoke_options : common_options {
    std::string target; // USER, SERIAL or a certificate file
    std::string reason = "unspecified";
};

struct crl_options : common_options {
    std::optional<int> days; // nextUpdate; remembered for later CRLs
    std::optional<std::filesystem::path>
        publish; // a web server's folder: DIR/ca-N.crl (DER) and crl.pem
};

struct renew_options : common_options {
    std::string target; // USER, SERIAL or a certificate file
    bool revoke_old = false;
    std::optional<int> days;                      // default: the kind's default validity
    std::optional<std::filesystem::path> out_dir; // default: where the old one was written
    std::optional<std::string> key;               // default: the old one's key type
    std::optional<std::string> docker_context;
    std::optional<std::string> host;
};

struct rotate_options : common_options {
    std::optional<std::string> name; // default: the current CA's name with " G<N>"
    int days = 3650;
    std::optional<std::string> key; // default: the current CA's key type
};

struct retire_options : common_options {
    bool force = false; // retire even if certificates of the old CA are still valid
};

void run_init(init_options const& options);
void run_server(server_options const& options);
void run_client(client_options const& options);
void run_list(list_options const& options);
void run_revoke(revoke_options const& options);
void run_crl(crl_options const& options);
void run_renew(renew_options const& options);
void run_rotate_ca(rotate_options const& options);
void run_retire_ca(retire_options const& options);

} // namespace dockgate::certs
