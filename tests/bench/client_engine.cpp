#include "tests/bench/client_engine.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

extern char** environ;

namespace dockgate::bench {

namespace {

constexpr long io_blocked = -1;
constexpr long io_failed = -2;
constexpr std::size_t read_buffer_size = 256 * 1024;

std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty())
            out += "; ";
        out += buf;
    }
    return out;
}

bool is_ip_literal(std::string const& host) {
    in6_addr a6;
    in_addr a4;
    return inet_pton(AF_INET, host.c_str(), &a4) == 1 ||
           inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

} // namespace

void target::resolve() {
    if (type == kind::exec) {
        if (command.empty())
            throw std::runtime_error("--exec: empty command");
        return;
    }
    if (type == kind::unix_socket) {
        sockaddr_un un{};
        un.sun_family = AF_UNIX;
        if (unix_path.size() >= sizeof un.sun_path)
            throw std::runtime_error("--unix: path longer than " +
                                     std::to_string(sizeof un.sun_path - 1) +
                                     " bytes: " + unix_path);
        std::memcpy(un.sun_path, unix_path.c_str(), unix_path.size() + 1);
        std::memcpy(&address, &un, sizeof un);
        address_length =
            static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + unix_path.size() + 1);
        return;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    auto const port_text = std::to_string(port);
    if (int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res); rc != 0)
        throw std::runtime_error("cannot resolve " + host + ": " + gai_strerror(rc));
    std::memcpy(&address, res->ai_addr, res->ai_addrlen);
    address_length = res->ai_addrlen;
    freeaddrinfo(res);
}

std::string target::describe() const {
    switch (type) {
    case kind::unix_socket:
        return "unix:" + unix_path;
    case kind::tcp:
        return "tcp:" + host + ":" + std::to_string(port);
    case kind::exec:
        return "exec:" + command;
    case kind::tls:
        break;
    }
    return "tls:" + host + ":" + std::to_string(port);
}

std::shared_ptr<SSL_CTX> make_client_tls(target const& t, bool stream_reads, bool lean) {
    std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    if (!ctx)
        throw std::runtime_error("SSL_CTX_new: " + openssl_errors());
    SSL_CTX* c = ctx.get();
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    // A server that closes TCP without close_notify reads as a plain EOF.
    SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(c, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (lean)
        SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    if (stream_reads) {
        // Fewer read(2) calls for bulk data: pull several records per system call.
        SSL_CTX_set_read_ahead(c, 1);
        SSL_CTX_set_default_read_buffer_len(c, read_buffer_size);
    }
    if (SSL_CTX_load_verify_locations(c, t.ca.c_str(), nullptr) != 1)
        throw std::runtime_error("--ca " + t.ca + ": " + openssl_errors());
    if (SSL_CTX_use_certificate_chain_file(c, t.cert.c_str()) != 1)
        throw std::runtime_error("--cert " + t.cert + ": " + openssl_errors());
    if (SSL_CTX_use_PrivateKey_file(c, t.key.c_str(), SSL_FILETYPE_PEM) != 1)
        throw std::runtime_error("--key " + t.key + ": " + openssl_errors());
    if (SSL_CTX_check_private_key(c) != 1)
        throw std::runtime_error("--key " + t.key + " does not match --cert " + t.cert);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    return ctx;
}

engine::engine(target const& t, std::shared_ptr<SSL_CTX> tls, std::string request,
               bool head_request, std::chrono::milliseconds timeout, hooks h)
    : target_(t)
    , tls_(std::move(tls))
    , request_(std::move(request))
    , head_request_(head_request)
    , timeout_(timeout)
    , hooks_(std::move(h))
    , buffer_(read_buffer_size)
    , probe_("GET /_ping HTTP/1.1\r\nHost: docker\r\nUser-Agent: dockgate-bench/1\r\n\r\n") {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0)
        throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
}

engine::~engine() {
    for (auto& c : conns_)
        close(*c); // an exec child sees EOF on its stdin and goes
    reap(true);
    ::close(epoll_);
}

connection& engine::add() {
    conns_.push_back(std::make_unique<connection>());
    return *conns_.back();
}

void engine::open(connection& c) {
    close(c);
    if (target_.type == target::kind::exec)
        return spawn(c);
    int const family = target_.address.ss_family;
    int const fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return hooks_.failed(c, std::string("socket: ") + std::strerror(errno));
    if (family != AF_UNIX) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    c.fd = fd;
    c.deadline = bench_clock::now() + timeout_;
    if (::connect(fd, reinterpret_cast<sockaddr const*>(&target_.address),
                  target_.address_length) != 0 &&
        errno != EINPROGRESS) {
        // A unix socket whose accept backlog is full answers EAGAIN rather than waiting.
        std::string const why = errno == EAGAIN ? "connect: listen backlog full (EAGAIN)"
                                                : std::string("connect: ") + std::strerror(errno);
        return fail(c, why);
    }
    c.state = phase::connecting;
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.ptr = &c;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0)
        return fail(c, std::string("epoll_ctl: ") + std::strerror(errno));
    c.interest = EPOLLOUT;
}

void engine::close(connection& c) {
    if (c.child > 0) {
        exiting_.push_back(c.child); // reaped in poll(), or waited for (and killed) at the end
        c.child = -1;
    }
    c.priming = false;
    if (c.ssl != nullptr) {
        SSL_free(c.ssl);
        c.ssl = nullptr;
    }
    if (c.fd >= 0) {
        ::close(c.fd); // also leaves the epoll set
        c.fd = -1;
    }
    c.state = phase::closed;
    c.interest = 0;
    c.deadline = bench_clock::time_point::max();
}

void engine::reopen_later(connection& c) {
    close(c);
    reopen_.push_back(&c);
}

void engine::fail(connection& c, std::string const& why) {
    pid_t const child = c.child;
    close(c);
    hooks_.failed(c, child > 0 ? why + child_status(child) : why);
}

void engine::spawn(connection& c) {
    int sv[2];
    // Blocking on the child's side (as a pipe from the docker CLI would be), non-blocking here.
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return hooks_.failed(c, std::string("socketpair: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, sv[1], STDIN_FILENO); // dup2 clears CLOEXEC
    posix_spawn_file_actions_adddup2(&actions, sv[1], STDOUT_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults, none;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE); // this client ignores SIGPIPE; the child must not inherit that
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    std::string const script = "exec " + target_.command;
    char const* argv[] = {"/bin/sh", "-c", script.c_str(), nullptr};
    pid_t pid = -1;
    int const rc =
        ::posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(sv[1]);
    if (rc != 0) {
        ::close(sv[0]);
        return hooks_.failed(c, std::string("posix_spawn /bin/sh: ") + std::strerror(rc));
    }
    ::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    c.fd = sv[0];
    c.child = pid;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &c;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev) != 0)
        return fail(c, std::string("epoll_ctl: ") + std::strerror(errno));
    c.interest = EPOLLIN;
    // The transport's "handshake": one /_ping must come back before the connection is ready.
    c.priming = true;
    c.state = phase::sending;
    c.sent = 0;
    c.parser.reset(false);
    c.request_started = bench_clock::now();
    c.deadline = c.request_started + timeout_;
    drive(c);
}

// " (exec child exited with status 255)": waits a little for a child whose connection failed,
// so the reason names what the command did.
std::string engine::child_status(pid_t pid) {
    auto const until = bench_clock::now() + std::chrono::milliseconds(500);
    int status = 0;
    for (;;) {
        pid_t const r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0)
            return "";
        if (bench_clock::now() >= until)
            return " (exec child still running)";
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    exiting_.erase(std::remove(exiting_.begin(), exiting_.end(), pid), exiting_.end());
    if (WIFEXITED(status))
        return " (exec child exited with status " + std::to_string(WEXITSTATUS(status)) + ")";
    if (WIFSIGNALED(status))
        return " (exec child killed by signal " + std::to_string(WTERMSIG(status)) + ")";
    return "";
}

// Reaps exited exec children. wait_all: waits up to 2 s for the rest (they saw EOF on their
// stdin), then SIGTERM, then SIGKILL, so no child outlives the client. A slow or stuck exit
// (an SSH server that does not close the channel after EOF) is reported on stderr.
void engine::reap(bool wait_all) {
    auto sweep = [&] {
        exiting_.erase(std::remove_if(exiting_.begin(), exiting_.end(),
                                      [](pid_t p) {
                                          int st = 0;
                                          pid_t const r = ::waitpid(p, &st, WNOHANG);
                                          return r == p || r < 0;
                                      }),
                       exiting_.end());
    };
    sweep();
    if (!wait_all)
        return;
    std::size_t const waiting = exiting_.size();
    auto const start = bench_clock::now();
    auto const until = start + std::chrono::seconds(2);
    while (!exiting_.empty() && bench_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        sweep();
    }
    double const waited = std::chrono::duration<double>(bench_clock::now() - start).count();
    if (!exiting_.empty())
        std::fprintf(
            stderr,
            "exec: %zu of %zu child(ren) still running 2 s after their stdin closed: SIGTERM\n",
            exiting_.size(), waiting);
    else if (waiting > 0 && waited > 0.5)
        std::fprintf(stderr, "exec: %zu child(ren) took %.1f s to exit after their stdin closed\n",
                     waiting, waited);
    for (int sig : {SIGTERM, SIGKILL}) {
        if (exiting_.empty())
            return;
        for (pid_t p : exiting_)
            ::kill(p, sig);
        auto const grace = bench_clock::now() + std::chrono::seconds(1);
        while (!exiting_.empty() && bench_clock::now() < grace) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            sweep();
        }
    }
    for (pid_t p : exiting_)
        ::waitpid(p, nullptr, 0);
    exiting_.clear();
}

void engine::want(connection& c, std::uint32_t events) {
    if (c.interest == events || c.fd < 0)
        return;
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &c;
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
    c.interest = events;
}

void engine::send(connection& c) {
    c.state = phase::sending;
    c.sent = 0;
    c.parser.reset(head_request_);
    c.request_started = bench_clock::now();
    c.deadline = c.request_started + timeout_;
    drive(c);
}

void engine::poll(std::chrono::milliseconds wait) {
    epoll_event events[512];
    int const n = ::epoll_wait(epoll_, events, 512, static_cast<int>(wait.count()));
    for (int i = 0; i < n; ++i)
        on_event(*static_cast<connection*>(events[i].data.ptr), events[i].events);
    check_deadlines();
    if (!exiting_.empty())
        reap(false);
    if (!reopen_.empty()) {
        auto pending = std::move(reopen_);
        reopen_.clear();
        for (auto* c : pending)
            open(*c);
    }
}

void engine::check_deadlines() {
    auto const now = bench_clock::now();
    if (now < next_sweep_)
        return;
    next_sweep_ = now + std::chrono::milliseconds(200);
    for (auto& cp : conns_) {
        auto& c = *cp;
        if (c.state == phase::closed || now < c.deadline)
            continue;
        auto const secs = std::to_string(timeout_.count() / 1000.0).substr(0, 4) + " s";
        if (c.priming) {
            fail(c, "timeout: exec transport set-up (start + first /_ping) took over " + secs);
            continue;
        }
        switch (c.state) {
        case phase::connecting:
            fail(c, "timeout: connect took over " + secs);
            break;
        case phase::handshaking:
            fail(c, "timeout: TLS handshake took over " + secs);
            break;
        case phase::sending:
            fail(c, "timeout: request not accepted within " + secs);
            break;
        case phase::receiving:
            fail(c, c.parser.started() ? "timeout: response stalled for " + secs
                                       : "timeout: no response within " + secs);
            break;
        case phase::ready:
        case phase::closed:
            break;
        }
    }
}

void engine::on_event(connection& c, std::uint32_t events) {
    if (c.state == phase::closed)
        return;
    if (c.state == phase::connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0)
            return fail(c, std::string("connect: ") + std::strerror(err));
        if ((events & EPOLLOUT) == 0)
            return fail(c, "connect: connection hung up");
        if (tls_) {
            c.ssl = SSL_new(tls_.get());
            SSL_set_fd(c.ssl, c.fd);
            SSL_set_connect_state(c.ssl);
            if (is_ip_literal(target_.host)) {
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c.ssl), target_.host.c_str());
            } else {
                SSL_set_tlsext_host_name(c.ssl, target_.host.c_str());
                SSL_set1_host(c.ssl, target_.host.c_str());
            }
            c.state = phase::handshaking;
        } else {
            c.state = phase::ready;
            c.deadline = bench_clock::time_point::max();
            want(c, EPOLLIN);
            hooks_.ready(c);
            return;
        }
    }
    drive(c);
}

std::string engine::ssl_failure(connection& c, int ret) {
    int const e = SSL_get_error(c.ssl, ret);
    std::string why;
    if (e == SSL_ERROR_SYSCALL)
        why = errno != 0 ? std::strerror(errno) : "connection closed";
    else
        why = openssl_errors();
    long const verify = SSL_get_verify_result(c.ssl);
    if (verify != X509_V_OK)
        why += std::string(" (server certificate: ") + X509_verify_cert_error_string(verify) + ")";
    return why.empty() ? "SSL error " + std::to_string(e) : why;
}

long engine::read_some(connection& c) {
    if (c.ssl != nullptr) {
        ERR_clear_error();
        errno = 0;
        std::size_t n = 0;
        int const r = SSL_read_ex(c.ssl, buffer_.data(), buffer_.size(), &n);
        if (r == 1)
            return static_cast<long>(n);
        switch (SSL_get_error(c.ssl, r)) {
        case SSL_ERROR_WANT_READ:
            want(c, EPOLLIN);
            return io_blocked;
        case SSL_ERROR_WANT_WRITE:
            want(c, EPOLLOUT);
            return io_blocked;
        case SSL_ERROR_ZERO_RETURN:
            return 0;
        default:
            io_error_ = ssl_failure(c, r);
            return io_failed;
        }
    }
    for (;;) {
        ssize_t const n = ::read(c.fd, buffer_.data(), buffer_.size());
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            want(c, EPOLLIN);
            return io_blocked;
        }
        io_error_ = std::strerror(errno);
        return io_failed;
    }
}

long engine::write_some(connection& c, char const* data, std::size_t n) {
    if (c.ssl != nullptr) {
        ERR_clear_error();
        errno = 0;
        std::size_t written = 0;
        int const r = SSL_write_ex(c.ssl, data, n, &written);
        if (r == 1)
            return static_cast<long>(written);
        switch (SSL_get_error(c.ssl, r)) {
        case SSL_ERROR_WANT_READ:
            want(c, EPOLLIN);
            return io_blocked;
        case SSL_ERROR_WANT_WRITE:
            want(c, EPOLLOUT);
            return io_blocked;
        default:
            io_error_ = ssl_failure(c, r);
            return io_failed;
        }
    }
    for (;;) {
        ssize_t const w = ::send(c.fd, data, n, MSG_NOSIGNAL);
        if (w >= 0)
            return w;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            want(c, EPOLLOUT);
            return io_blocked;
        }
        io_error_ = std::strerror(errno);
        return io_failed;
    }
}

void engine::drive(connection& c) {
    for (;;) {
        switch (c.state) {
        case phase::closed:
        case phase::connecting:
            return;
        case phase::handshaking: {
            ERR_clear_error();
            errno = 0;
            int const r = SSL_do_handshake(c.ssl);
            if (r != 1) {
                int const e = SSL_get_error(c.ssl, r);
                if (e == SSL_ERROR_WANT_READ)
                    return want(c, EPOLLIN);
                if (e == SSL_ERROR_WANT_WRITE)
                    return want(c, EPOLLOUT);
                return fail(c, "TLS handshake: " + ssl_failure(c, r));
            }
            if (tls_description_ == "plain")
                tls_description_ =
                    std::string(SSL_get_version(c.ssl)) + "/" + SSL_get_cipher_name(c.ssl);
            c.state = phase::ready;
            c.deadline = bench_clock::time_point::max();
            hooks_.ready(c);
            continue;
        }
        case phase::ready: {
            // Nothing is expected: a read tells whether the server closed the connection
            // (and lets OpenSSL consume post-handshake messages).
            long const n = read_some(c);
            if (n == io_blocked)
                return;
            if (n == 0)
                return fail(c, "closed by the server while idle");
            if (n < 0)
                return fail(c, "read while idle: " + io_error_);
            return fail(c, "unexpected bytes from the server while idle");
        }
        case phase::sending: {
            std::string const& request = c.priming ? probe_ : request_;
            while (c.sent < request.size()) {
                long const n = write_some(c, request.data() + c.sent, request.size() - c.sent);
                if (n == io_blocked)
                    return;
                if (n < 0)
                    return fail(c, "write: " + io_error_);
                c.sent += static_cast<std::size_t>(n);
            }
            c.state = phase::receiving;
            continue;
        }
        case phase::receiving: {
            long const n = read_some(c);
            if (n == io_blocked)
                return;
            if (n < 0)
                return fail(c, "read: " + io_error_);
            if (n == 0) {
                c.parser.eof();
                if (!c.parser.done())
                    return fail(c, c.parser.error());
            } else {
                c.deadline = bench_clock::now() + timeout_;
                auto const used = c.parser.feed(buffer_.data(), static_cast<std::size_t>(n));
                if (c.parser.failed())
                    return fail(c, "bad response: " + c.parser.error());
                if (!c.parser.done())
                    continue;
                if (used != static_cast<std::size_t>(n))
                    return fail(c, "bytes after the end of a response");
            }
            c.state = phase::ready;
            c.deadline = bench_clock::time_point::max();
            if (c.priming) {
                if (n == 0 || c.parser.status() != 200 || !c.parser.keep_alive())
                    return fail(c, "exec transport set-up: GET /_ping got " +
                                       (c.parser.status() != 200
                                            ? "HTTP status " + std::to_string(c.parser.status())
                                            : std::string("no keep-alive")));
                c.priming = false;
                want(c, EPOLLIN);
                hooks_.ready(c);
                continue;
            }
            ++c.responses;
            bool const closing = n == 0 || !c.parser.keep_alive();
            hooks_.response(c);
            if (closing && c.state != phase::closed)
                close(c);
            continue;
        }
        }
    }
}

} // namespace dockgate::bench
