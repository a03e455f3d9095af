// Any bytes as a config file: parse_config must not crash, must either load or throw a
// config_error whose problems each name the file on one line of text, and what it loads must
// hold what the gateway relies on: a listener, at least one role, worker threads, subjects with
// names, and SSH keys in the "TYPE BASE64" form. Relative paths resolve against a scratch folder
// holding the files the seed configs name (the PEM files are not read here, only checked to exist).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

#include "config/config.hpp"
#include "config/ssh_keys.hpp"

namespace {

using namespace dockgate;

constexpr char const* file_name = "fuzz.toml";

[[noreturn]] void fail(char const* what, std::string const& detail) {
    std::fprintf(stderr, "config: %s: %s\n", what, detail.c_str());
    std::abort();
}

// Made on first use, removed at exit (a crash leaves it for a look).
std::string const& scratch_folder() {
    static std::string const dir = [] {
        auto const d = std::filesystem::temp_directory_path() /
                       ("dockgate-config-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d / "pki");
        for (auto const* f : {"pki/ca.pem", "pki/server-cert.pem", "pki/server-key.pem",
                              "pki/crl.pem", "ca.pem", "server-cert.pem", "server-key.pem"})
            std::ofstream(d / f) << "x";
        std::ofstream(d / "alice.keys") << "# alice\nssh-ed25519 "
                                           "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9o"
                                           "kWi0dh2l9GKJl alice@laptop\n";
        std::ofstream(d / "profile.json") << R"({"defaultAction": "SCMP_ACT_ERRNO"})";
        return d.string();
    }();
    static bool const cleanup = std::atexit([] {
                                    std::error_code ec;
                                    std::filesystem::remove_all(dir, ec);
                                }) == 0;
    (void)cleanup;
    return dir;
}

void check_loaded(config::config const& cfg) {
    if (!cfg.tls && !cfg.unix_socket && !cfg.ssh)
        fail("loaded without a listener", "");
    if (cfg.roles.empty())
        fail("loaded without a role", "");
    if (cfg.gateway.workers == 0)
        fail("loaded with no worker threads", "");
    if (cfg.gateway.upstream_socket.empty() || cfg.gateway.upstream_socket.string()[0] != '/')
        fail("the upstream is not an absolute socket path", cfg.gateway.upstream_socket.string());
    for (auto const& role : cfg.roles) {
        for (auto const& s : role.subjects) {
            if (s.name.empty())
                fail("a subject without a name", role.name);
        }
    }
    for (auto const& [name, user] : cfg.users) {
        for (auto const& key : user.ssh_keys) {
            std::string why;
            auto const again = config::parse_ssh_key_line(key, why);
            if (!again || *again != key)
                fail("an SSH key is not TYPE BASE64", key);
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const text(reinterpret_cast<char const*>(data), size);
    try {
        check_loaded(config::parse_config(text, scratch_folder(), file_name));
    } catch (config::config_error const& e) {
        if (e.problems().empty() || std::string_view(e.what()) != e.problems().front())
            fail("a config_error without its problems", e.what());
        for (auto const& p : e.problems()) {
            if (p.rfind(std::string(file_name) + ":", 0) != 0)
                fail("a problem that does not name the file", p);
            // One problem, one line: keys and values are echoed with control characters escaped.
            if (std::any_of(p.begin(), p.end(),
                            [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
                fail("a problem with a control character in it", p);
        }
    }
    // Any other exception escapes to libFuzzer, which reports it as a crash: the loader's
    // callers (check-config, reload) expect config_error and nothing else.
    return 0;
}
