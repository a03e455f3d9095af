#include "certs_test_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sys/wait.h>

#include "certs-tool/ledger.hpp"

namespace dockgate::certs::testing {

command_result shell(std::string const& command) {
    command_result result;
    std::string const full = "( " + command + " ) 2>&1";
    FILE* pipe = ::popen(full.c_str(), "r"); // NOLINT(cert-env33-c): runs the tool as a user would
    if (pipe == nullptr)
        return result;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0)
        result.output.append(buf, n);
    int const status = ::pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

std::string quoted(std::string const& word) {
    std::string out = "'";
    for (char const c : word)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

tree_snapshot snapshot(fs::path const& root) {
    tree_snapshot out;
    if (!fs::exists(root))
        return out;
    for (auto const& entry : fs::recursive_directory_iterator(root)) {
        auto const rel = fs::relative(entry.path(), root).string();
        struct stat st {};
        ::lstat(entry.path().c_str(), &st);
        std::string content;
        if (entry.is_regular_file())
            content = read_text(entry.path());
        out[rel] = {static_cast<unsigned>(st.st_mode & 07777), content};
    }
    return out;
}

std::string read_text(fs::path const& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_text(fs::path const& file, std::string const& text, mode_t mode) {
    {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out << text;
    }
    ::chmod(file.c_str(), mode);
}

unsigned mode_of(fs::path const& file) {
    struct stat st {};
    ::lstat(file.c_str(), &st);
    return st.st_mode & 07777;
}

int count_of(std::string const& haystack, std::string const& needle) {
    int n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos;
         pos = haystack.find(needle, pos + 1))
        ++n;
    return n;
}

void certs_test::SetUp() {
    std::string pattern = (fs::temp_directory_path() / "dockgate-certs-test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    tmp_ = pattern;
    pki_ = tmp_ / "pki";
    passphrase_file_ = tmp_ / "passphrase";
    write_text(passphrase_file_, "correct horse battery staple\n");
}

void certs_test::TearDown() {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
}

void certs_test::make_ca(bool encrypted, std::string const& name) {
    auto o = encrypted ? opts_with_passphrase<init_options>() : opts<init_options>();
    o.name = name;
    run_init(o);
}

std::string certs_test::make_client(std::string const& user, std::vector<std::string> groups) {
    auto o = opts_with_passphrase<client_options>();
    o.user = user;
    o.groups = std::move(groups);
    o.out_dir = tmp_ / ("client-" + user);
    run_client(o);
    return serial_of(tmp_ / ("client-" + user) / "cert.pem");
}

std::string certs_test::make_server(std::vector<std::string> dns, std::vector<std::string> ips) {
    auto o = opts_with_passphrase<server_options>();
    o.dns = std::move(dns);
    o.ips = std::move(ips);
    run_server(o);
    return serial_of(pki_ / "server-cert.pem");
}

void certs_test::expect_user_error(std::function<void()> const& fn, std::string const& needle) {
    try {
        fn();
        ADD_FAILURE() << "expected a user error containing \"" << needle
                      << "\", but the command succeeded";
    } catch (certs_error const& e) {
        EXPECT_EQ(e.code(), exit_code::user_error) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
            << "message \"" << e.what() << "\" lacks \"" << needle << "\"";
    }
}

command_result certs_test::verify(fs::path const& cert, bool with_crl, std::string const& extra) {
    std::string command =
        "openssl verify -x509_strict -CAfile " + quoted((pki_ / "ca.pem").string());
    if (with_crl)
        command += " -crl_check -CRLfile " + quoted((pki_ / "crl.pem").string());
    return shell(command + " " + extra + " " + quoted(cert.string()));
}

std::string certs_test::x509_text(fs::path const& cert) {
    auto const r = shell("openssl x509 -noout -text -in " + quoted(cert.string()));
    EXPECT_EQ(r.status, 0) << r.output;
    return r.output;
}

std::string certs_test::crl_text(fs::path const& file) {
    // `openssl crl` reads one CRL; split the file at each BEGIN line to read them all.
    auto const text = read_text(file);
    std::string out;
    std::size_t pos = 0;
    int index = 0;
    while ((pos = text.find("-----BEGIN X509 CRL-----", pos)) != std::string::npos) {
        auto const end = text.find("-----END X509 CRL-----", pos);
        auto const part = tmp_ / ("crl-part-" + std::to_string(index++) + ".pem");
        write_text(part, text.substr(pos, end + 23 - pos), 0644);
        auto const r = shell("openssl crl -noout -text -in " + quoted(part.string()));
        EXPECT_EQ(r.status, 0) << r.output;
        out += r.output;
        pos = end;
    }
    return out;
}

std::string certs_test::serial_of(fs::path const& file) {
    auto const r = shell("openssl x509 -noout -serial -in " + quoted(file.string()));
    EXPECT_EQ(r.status, 0) << r.output;
    auto const eq = r.output.find('=');
    auto serial = r.output.substr(eq + 1);
    while (!serial.empty() && (serial.back() == '\n' || serial.back() == '\r'))
        serial.pop_back();
    return serial;
}

} // namespace dockgate::certs::testing
