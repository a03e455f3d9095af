#include "gateway/server/confinement.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdexcept>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <system_error>
#include <termios.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace dockgate::server {

namespace fs = std::filesystem;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

bool landlock_on = false;

std::string errno_text() {
    return std::generic_category().message(errno);
}

// --- user and group look-ups -------------------------------------------------------------------

struct account {
    uid_t uid = 0;
    gid_t gid = 0;
};

std::optional<account> find_user(std::string const& name) {
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (::getpwnam_r(name.c_str(), &entry, buf.data(), buf.size(), &found) != 0 || found == nullptr)
        return std::nullopt;
    return account{found->pw_uid, found->pw_gid};
}

// Becomes gateway.user: its group (or gateway.group), plus the daemon socket's group as the one
// supplementary group, then checks that root cannot be had back.
void drop_root(config::config const& cfg) {
    auto const& g = cfg.gateway;
    auto const user = find_user(g.user);
    if (!user)
        throw std::runtime_error("gateway.user: no such user \"" + g.user +
                                 "\" (create it, e.g. useradd --system " + g.user +
                                 ", or fix the name)");
    gid_t gid = user->gid;
    if (!g.group.empty()) {
        auto const found = group_id(g.group);
        if (!found)
            throw std::runtime_error("gateway.group: no such group \"" + g.group +
                                     "\" (create it or fix the name)");
        gid = *found;
    }
    std::vector<gid_t> groups{gid};
    struct stat st {};
    if (::stat(g.upstream_socket.c_str(), &st) != 0)
        spdlog::warn("gateway.user: cannot read the group of {} ({}): it is not added, and "
                     "{} may not reach the daemon (start dockgate after the daemon)",
                     g.upstream_socket.string(), errno_text(), g.user);
    else if (st.st_gid != gid)
        groups.push_back(st.st_gid);
    if (user->uid == 0)
        throw std::runtime_error("gateway.user: \"" + g.user +
                                 "\" is root (name an unprivileged user)");
    if (::setgroups(groups.size(), groups.data()) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(user->uid, user->uid, user->uid) != 0)
        throw std::runtime_error("gateway.user: cannot become " + g.user + ": " + errno_text());
    if (::setresuid(0, 0, 0) == 0 || ::geteuid() == 0)
        throw std::runtime_error("gateway.user: root could be regained after the switch");
    spdlog::info("running as {} (uid {}, gid {}{})", g.user, user->uid, gid,
                 groups.size() > 1 ? fmt::format(", daemon socket group {}", groups[1]) : "");
}

// --- Landlock ----------------------------------------------------------------------------------
// The kernel's ABI, written out here so that older kernel headers build the same binary.

namespace landlock {

constexpr std::uint64_t execute = 1ULL << 0;
constexpr std::uint64_t write_file = 1ULL << 1;
constexpr std::uint64_t read_file = 1ULL << 2;
constexpr std::uint64_t read_dir = 1ULL << 3;
constexpr std::uint64_t remove_file = 1ULL << 5;
constexpr std::uint64_t make_reg = 1ULL << 8;
constexpr std::uint64_t truncate = 1ULL << 14;    // ABI 3
constexpr std::uint64_t net_bind_tcp = 1ULL << 0; // ABI 4
constexpr std::uint64_t net_connect_tcp = 1ULL << 1;
constexpr std::uint64_t scope_abstract_unix = 1ULL << 0; // ABI 6
constexpr std::uint64_t scope_signal = 1ULL << 1;

struct ruleset_attr {
    std::uint64_t handled_access_fs;
    std::uint64_t handled_access_net;
    std::uint64_t scoped;
};

struct __attribute__((packed)) path_beneath_attr {
    std::uint64_t allowed_access;
    std::int32_t parent_fd;
};

struct net_port_attr {
    std::uint64_t allowed_access;
    std::uint64_t port;
};

constexpr int rule_path_beneath = 1;
constexpr int rule_net_port = 2;
constexpr unsigned create_ruleset_version = 1U << 0;

// Every file system right the kernel's ABI version knows: what is not granted below is denied.
std::uint64_t fs_rights(int abi) {
    std::uint64_t all = (1ULL << 13) - 1; // ABI 1: execute .. make_sym
    if (abi >= 2)
        all |= 1ULL << 13; // refer
    if (abi >= 3)
        all |= truncate;
    if (abi >= 5)
        all |= 1ULL << 15; // ioctl_dev
    return all;
}

int abi_version() {
    return static_cast<int>(
        ::syscall(SYS_landlock_create_ruleset, nullptr, 0, create_ruleset_version));
}

} // namespace landlock

void add_unique(std::vector<fs::path>& to, fs::path const& p) {
    if (!p.empty() && std::find(to.begin(), to.end(), p) == to.end())
        to.push_back(p);
}

// The folder of `file` as written and with links resolved (a certificate under a Kubernetes
// secret mount is a link into a hidden folder next to it).
void add_folder_of(std::vector<fs::path>& to, fs::path const& file) {
    add_unique(to, file.parent_path());
    std::error_code ec;
    auto const real = fs::canonical(file, ec);
    if (!ec)
        add_unique(to, real.parent_path());
}

bool grant(int ruleset, fs::path const& path, std::uint64_t rights) {
    int const fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) {
        spdlog::warn("Landlock: {} is not reachable ({}): not granted", path.string(),
                     errno_text());
        return false;
    }
    landlock::path_beneath_attr const rule{rights, fd};
    bool const ok =
        ::syscall(SYS_landlock_add_rule, ruleset, landlock::rule_path_beneath, &rule, 0) == 0;
    if (!ok)
        spdlog::warn("Landlock: cannot grant {}: {}", path.string(), errno_text());
    ::close(fd);
    return ok;
}

bool grant_port(int ruleset, std::uint16_t port) {
    landlock::net_port_attr const rule{landlock::net_connect_tcp, port};
    bool const ok =
        ::syscall(SYS_landlock_add_rule, ruleset, landlock::rule_net_port, &rule, 0) == 0;
    if (!ok)
        spdlog::warn("Landlock: cannot allow TCP connect to port {}: {}", port, errno_text());
    return ok;
}

std::string join_ports(std::vector<std::uint16_t> const& ports) {
    std::string out;
    for (auto p : ports)
        out += (out.empty() ? "" : ", ") + std::to_string(p);
    return out;
}

std::string join_paths(std::vector<fs::path> const& paths) {
    std::string out;
    for (auto const& p : paths)
        out += (out.empty() ? "" : ", ") + p.string();
    return out.empty() ? "none" : out;
}

void restrict_files(file_access_plan const& plan) {
    int const abi = landlock::abi_version();
    if (abi < 1) {
        spdlog::warn("Landlock is not available ({}): file system access is not restricted "
                     "(Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK and landlock in the "
                     "lsm= list)",
                     errno_text());
        return;
    }
    landlock::ruleset_attr attr{landlock::fs_rights(abi), 0, 0};
    std::size_t size = sizeof attr.handled_access_fs;
    if (abi >= 4) {
        // The gateway binds nothing after start-up and connects over TCP only to the peers
        // the plan names (granted below).
        attr.handled_access_net = landlock::net_bind_tcp | landlock::net_connect_tcp;
        size = offsetof(landlock::ruleset_attr, scoped);
    }
    if (abi >= 6) {
        attr.scoped = landlock::scope_abstract_unix | landlock::scope_signal;
        size = sizeof attr;
    }
    int const ruleset = static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, size, 0));
    if (ruleset < 0)
        throw std::runtime_error("gateway.landlock: cannot create a Landlock ruleset: " +
                                 errno_text() + " (set gateway.landlock = false to run without)");
    auto const trunc = abi >= 3 ? landlock::truncate : 0;
    for (auto const& d : plan.read_dirs)
        grant(ruleset, d, landlock::read_file | landlock::read_dir);
    for (auto const& f : plan.read_files)
        grant(ruleset, f, landlock::read_file);
    for (auto const& d : plan.write_dirs)
        grant(ruleset, d,
              landlock::read_file | landlock::read_dir | landlock::write_file | landlock::make_reg |
                  trunc);
    for (auto const& d : plan.remove_dirs)
        grant(ruleset, d, landlock::remove_file);
    if (abi >= 4) {
        for (auto const port : plan.tcp_connect_ports)
            grant_port(ruleset, port);
    }
    if constexpr (sanitized) {
        // LeakSanitizer reads the process's own maps and threads at exit.
        grant(ruleset, "/proc", landlock::read_file | landlock::read_dir);
    }
    if (::syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
        ::close(ruleset);
        throw std::runtime_error("gateway.landlock: cannot restrict the file system: " +
                                 errno_text() + " (set gateway.landlock = false to run without)");
    }
    ::close(ruleset);
    landlock_on = true;
    spdlog::info("Landlock (ABI {}): read {}; write {}; nothing else on the file system{}", abi,
                 join_paths(plan.read_dirs), join_paths(plan.write_dirs),
                 abi < 4 ? ""
                 : plan.tcp_connect_ports.empty()
                     ? ", no TCP connect or bind"
                     : ", no TCP bind, TCP connect to port(s) " +
                           join_ports(plan.tcp_connect_ports) + " only");
}

// --- seccomp -----------------------------------------------------------------------------------

// What the gateway, glibc, Boost.Asio, OpenSSL, libssh and spdlog call once running.
constexpr std::array allowed_calls{
    // I/O on descriptors the gateway holds
    "read", "write", "readv", "writev", "pread64", "pwrite64", "close", "close_range", "lseek",
    "fcntl", "fstat", "newfstatat", "statx", "fsync", "fdatasync", "ftruncate", "dup", "dup3",
    // files: the config, certificates and keys on reload; the user database
    "openat", "getdents64", "readlink", "readlinkat", "faccessat", "faccessat2", "getcwd", "statfs",
    "fstatfs", "unlink", "unlinkat", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
    // sockets: accepted clients, the daemon's unix socket
    "accept", "accept4", "connect", "recvfrom", "sendto", "recvmsg", "sendmsg", "sendmmsg",
    "recvmmsg", "shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername", "socketpair",
    // event loops and timers
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd2",
    "timerfd_create", "timerfd_settime", "timerfd_gettime", "poll", "ppoll", "select", "pselect6",
    "pipe2",
    // memory
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
    // threads and time
    "futex", "set_robust_list", "get_robust_list", "rseq", "sched_yield", "sched_getaffinity",
    "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
    "getrandom", "membarrier", "set_tid_address",
    // identity and signals (abort, Asio's signal_set)
    "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getgroups",
    "getresuid", "getresgid", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
    "tgkill", "restart_syscall", "uname", "getrusage", "prlimit64", "exit", "exit_group"};

// A system call outside the list: say which before the process goes (write(2) and tgkill are
// async-signal-safe and allowed), so the log names what to report.
void on_sigsys(int, siginfo_t* info, void*) {
    char msg[160];
    int const nr = info->si_syscall;
    int len = 0;
    char const head[] = "dockgate: stopped by its seccomp filter: system call ";
    for (char c : head)
        if (c != '\0')
            msg[len++] = c;
    char digits[12];
    int n = 0;
    unsigned v = nr < 0 ? 0U : static_cast<unsigned>(nr);
    do {
        digits[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < 12);
    while (n > 0)
        msg[len++] = digits[--n];
    char const tail[] = " is not allowed (report it; gateway.seccomp = false runs without)\n";
    for (char c : tail)
        if (c != '\0' && len < static_cast<int>(sizeof msg))
            msg[len++] = c;
    (void)!::write(STDERR_FILENO, msg, static_cast<std::size_t>(len));
    (void)std::signal(SIGSYS, SIG_DFL);
    (void)std::raise(SIGSYS);
}

struct filter_deleter {
    void operator()(scmp_filter_ctx ctx) const noexcept { seccomp_release(ctx); }
};

void filter_system_calls(file_access_plan const& plan) {
    std::unique_ptr<void, filter_deleter> ctx(seccomp_init(SCMP_ACT_TRAP));
    if (!ctx)
        throw std::runtime_error("gateway.seccomp: cannot set up a filter");
    auto fail = [](char const* what, int rc) {
        return std::runtime_error(std::string("gateway.seccomp: ") + what + ": " +
                                  std::generic_category().message(-rc) +
                                  " (set gateway.seccomp = false to run without)");
    };
    std::size_t count = 0;
    for (char const* name : allowed_calls) {
        int const nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR)
            continue; // not a system call on this architecture
        if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0); rc != 0)
            throw fail(name, rc);
        ++count;
    }
    // Threads only: no new process.
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
        rc != 0)
        throw fail("clone", rc);
    // clone3 passes its flags in memory the filter cannot read: glibc falls back to clone.
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0); rc != 0)
        throw fail("clone3", rc);
    // New sockets only towards the daemon (and the user database's local services).
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                                  SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
        rc != 0)
        throw fail("socket", rc);
    // Outbound network peers: IPv4 and IPv6, stream sockets for TCP peers and datagram sockets
    // for a UDP collector, each only when the config has one (the type's flag bits aside).
    std::vector<scmp_datum_t> inet_types;
    if (plan.inet_sockets && !plan.tcp_connect_ports.empty())
        inet_types.push_back(SOCK_STREAM);
    if (plan.inet_sockets && plan.inet_datagrams)
        inet_types.push_back(SOCK_DGRAM);
    for (scmp_datum_t const family : {AF_INET, AF_INET6}) {
        for (scmp_datum_t const type : inet_types) {
            if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
                                          SCMP_A0(SCMP_CMP_EQ, family),
                                          SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, type));
                rc != 0)
                throw fail("socket", rc);
        }
    }
    // Descriptors: non-blocking mode and readiness (Asio), terminal checks (spdlog's colours).
    for (unsigned long const request : {FIONBIO, FIONREAD, TCGETS, TIOCGWINSZ}) {
        if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                      SCMP_A1(SCMP_CMP_EQ, request));
            rc != 0)
            throw fail("ioctl", rc);
    }
    // Thread names only: nothing may undo no_new_privs' company (dumpable, for one).
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                                  SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
        rc != 0)
        throw fail("prctl", rc);

    struct sigaction sa {};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(SIGSYS, &sa, nullptr) != 0)
        throw std::runtime_error("gateway.seccomp: cannot handle SIGSYS: " + errno_text());
    if (int rc = seccomp_load(ctx.get()); rc != 0)
        throw fail("cannot load the filter", rc);
    spdlog::info("seccomp: {} system calls allowed (clone for threads only, socket for AF_UNIX "
                 "{}); any other stops the gateway",
                 count + 4, // clone, socket, ioctl and prctl, each with its condition
                 inet_types.empty()             ? "only"
                 : inet_types.size() == 2       ? "and IPv4/IPv6 stream and datagram sockets"
                 : inet_types[0] == SOCK_STREAM ? "and IPv4/IPv6 stream sockets"
                                                : "and IPv4/IPv6 datagram sockets");
}

// Loads now what the C library would otherwise load on first use, from files Landlock then
// hides: the user database's modules (a unix peer's name) and the time zone (log lines).
// An id no database holds makes the C library try every source nsswitch.conf lists (files,
// then systemd's, say), loading each one's module.
void preload() {
    constexpr auto unknown = static_cast<uid_t>(-3);
    std::vector<char> buf(16384);
    passwd entry{};
    passwd* found = nullptr;
    (void)::getpwuid_r(unknown, &entry, buf.data(), buf.size(), &found);
    group gentry{};
    group* gfound = nullptr;
    (void)::getgrgid_r(static_cast<gid_t>(unknown), &gentry, buf.data(), buf.size(), &gfound);
    ::tzset();
}

} // namespace

file_access_plan plan_file_access(config::config const& cfg) {
    file_access_plan plan;
    for (auto const& f : config::watched_files(cfg))
        add_folder_of(plan.read_dirs, f);
    if (cfg.ssh)
        add_folder_of(plan.read_dirs, cfg.ssh->host_key);
    if (cfg.gateway.audit_log != "-")
        add_folder_of(plan.write_dirs, cfg.gateway.audit_log);
    if (cfg.unix_socket)
        add_unique(plan.remove_dirs, cfg.unix_socket->path.parent_path());
    if (auto const& s = cfg.gateway.audit_syslog) {
        using kind = config::audit_syslog_target::kind;
        // A pathname unix socket (/dev/log) needs no Landlock right to connect to (the
        // integration test checks it); UDP has no Landlock rule at all.
        plan.inet_sockets = s->transport != kind::unix_socket;
        plan.inet_datagrams = s->transport == kind::udp;
        if (s->transport == kind::tcp || s->transport == kind::tls)
            plan.tcp_connect_ports.push_back(s->port);
    }
    if (cfg.tls) {
        for (auto const& u : cfg.tls->crl_urls)
            if (std::find(plan.tcp_connect_ports.begin(), plan.tcp_connect_ports.end(), u.port) ==
                plan.tcp_connect_ports.end())
                plan.tcp_connect_ports.push_back(u.port);
        plan.inet_sockets = plan.inet_sockets || !cfg.tls->crl_urls.empty();
    }
    for (char const* f : {"/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/localtime"}) {
        std::error_code ec;
        if (fs::exists(f, ec))
            add_unique(plan.read_files, f);
    }
    return plan;
}

std::string outside_plan(file_access_plan const& started, config::config const& next) {
    // Landlock grants a folder and everything below it.
    auto const inside = [&](fs::path const& file) {
        auto const dir = file.parent_path().lexically_normal();
        return std::any_of(
            started.read_dirs.begin(), started.read_dirs.end(), [&](fs::path const& allowed) {
                auto const a = allowed.lexically_normal();
                return std::mismatch(a.begin(), a.end(), dir.begin(), dir.end()).first == a.end();
            });
    };
    if (next.tls) {
        for (auto const& [key, file] : {std::pair{"listen.tls.ca", next.tls->ca},
                                        {"listen.tls.cert", next.tls->cert},
                                        {"listen.tls.key", next.tls->key}}) {
            if (!inside(file))
                return std::string(key) + ": " + file.string();
        }
        if (next.tls->crl && !inside(*next.tls->crl))
            return "listen.tls.crl: " + next.tls->crl->string();
    }
    for (auto const& [name, user] : next.users) {
        if (!user.ssh_keys_file.empty() && !inside(user.ssh_keys_file))
            return "users." + name + ".ssh_keys_file: " + user.ssh_keys_file.string();
    }
    return "";
}

std::string root_warning(config::config const& cfg) {
    if (::geteuid() != 0 || !cfg.gateway.user.empty())
        return "";
    return "running as root without gateway.user: after start-up the gateway needs only the "
           "daemon socket and its own files (set gateway.user = \"dockgate\", or start it as that "
           "user)";
}

void confine(config::config const& cfg) {
    std::error_code ec;
    auto const threads = std::distance(fs::directory_iterator("/proc/self/task", ec), {});
    if (!ec && threads != 1)
        throw std::logic_error("confinement must come before any thread starts (" +
                               std::to_string(threads) + " running)");
    preload();
    auto const& g = cfg.gateway;
    if (::geteuid() == 0 && !g.user.empty()) {
        drop_root(cfg);
    } else if (!g.user.empty()) {
        auto const user = find_user(g.user);
        if (!user || user->uid != ::getuid())
            throw std::runtime_error("gateway.user: dockgate runs as uid " +
                                     std::to_string(::getuid()) + ", not as root or \"" + g.user +
                                     "\", so it cannot become " + g.user +
                                     " (start it as root or as that user)");
    } else if (auto const w = root_warning(cfg); !w.empty()) {
        spdlog::warn("{}", w);
    }
    // No core file (it would hold the keys) and no ptrace by other processes of the same user.
    rlimit const none{0, 0};
    (void)::setrlimit(RLIMIT_CORE, &none);
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        throw std::runtime_error(std::string("cannot turn core dumps off: ") + errno_text());
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        throw std::runtime_error(std::string("cannot set no_new_privs: ") + errno_text());
    auto const plan = plan_file_access(cfg);
    if (g.landlock)
        restrict_files(plan);
    else
        spdlog::warn("gateway.landlock = false: file system access is not restricted");
    if (!g.seccomp)
        spdlog::warn("gateway.seccomp = false: system calls are not filtered");
    else if (sanitized)
        spdlog::warn("seccomp is off in a sanitizer build (the sanitizers' own reporting needs "
                     "ptrace and processes)");
    else
        filter_system_calls(plan);
}

std::optional<gid_t> group_id(std::string const& name) {
    group entry{};
    group* found = nullptr;
    std::vector<char> buf(16384);
    if (::getgrnam_r(name.c_str(), &entry, buf.data(), buf.size(), &found) != 0 || found == nullptr)
        return std::nullopt;
    return found->gr_gid;
}

bool landlock_active() noexcept {
    return landlock_on;
}

} // namespace dockgate::server
