#pragma once
// Shared fixture of the dockgate-certs unit tests: a fresh private temp folder per test, the
// commands run in-process with captured output, the openssl CLI as an independent checker,
// and folder snapshots to prove that a failed command changed nothing.

#include <filesystem>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "certs-tool/commands.hpp"
#include "certs-tool/error.hpp"

namespace dockgate::certs::testing {

namespace fs = std::filesystem;

struct command_result {
    int status = -1;    // exit status, or -1 if it did not exit normally
    std::string output; // stdout and stderr together
};

/// Runs `command` with /bin/sh, stdout and stderr captured together.
command_result shell(std::string const& command);

/// Single-quotes a word for /bin/sh.
std::string quoted(std::string const& word);

/// What a file tree holds: relative path -> mode and content. Lets a test prove that a failed
/// command left every byte and mode as it was.
using tree_snapshot = std::map<std::string, std::pair<unsigned, std::string>>;
tree_snapshot snapshot(fs::path const& root);

std::string read_text(fs::path const& file);
void write_text(fs::path const& file, std::string const& text, mode_t mode = 0600);
unsigned mode_of(fs::path const& file);
int count_of(std::string const& haystack, std::string const& needle);

class certs_test : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    /// Options of any command with --dir set to this test's CA folder and output captured.
    template <typename Options>
    Options opts() {
        Options o;
        o.dir = pki_;
        o.out = &out_;
        o.err = &err_;
        return o;
    }
    template <typename Options>
    Options opts_with_passphrase() {
        auto o = opts<Options>();
        o.passphrase_file = passphrase_file_;
        return o;
    }

    /// init (EC P-256) with the passphrase unless `encrypted` is false.
    void make_ca(bool encrypted = true, std::string const& name = "Test CA");
    /// client USER with groups; returns its serial (from the ledger).
    std::string make_client(std::string const& user, std::vector<std::string> groups = {"dev"});
    std::string make_server(std::vector<std::string> dns = {"gw.example.com"},
                            std::vector<std::string> ips = {"127.0.0.1"});

    /// Runs `fn`, expects a certs_error with exit code 1 whose message contains `needle`.
    void expect_user_error(std::function<void()> const& fn, std::string const& needle);

    /// `openssl verify` of `cert` against DIR/ca.pem, with DIR/crl.pem and -crl_check when
    /// `with_crl`; returns the result (status 0 = verified).
    command_result verify(fs::path const& cert, bool with_crl = true,
                          std::string const& extra = "");
    /// `openssl x509 -text -noout` of a certificate.
    std::string x509_text(fs::path const& cert);
    /// `openssl crl -text -noout` of every CRL in a file (one after the other).
    std::string crl_text(fs::path const& file);

    /// The serial (upper-case hex) of the certificate in `file`, via openssl.
    std::string serial_of(fs::path const& file);

    fs::path tmp_;             // the test's private folder
    fs::path pki_;             // tmp_/pki
    fs::path passphrase_file_; // tmp_/passphrase (0600)
    std::ostringstream out_;
    std::ostringstream err_;
};

} // namespace dockgate::certs::testing
