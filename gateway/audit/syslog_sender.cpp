#include "gateway/audit/syslog_sender.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdexcept>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include "common/openssl_util.hpp"

namespace dockgate::audit {

namespace {

using kind = config::audit_syslog_target::kind;

// A collector that takes longer than this to accept a connection, a handshake or a write is
// treated as down: the thread reconnects, the records wait in the queue.
constexpr auto io_timeout = std::chrono::seconds(5);
constexpr auto first_retry = std::chrono::milliseconds(250);
constexpr auto last_retry = std::chrono::seconds(10);

std::string errno_text(int err) {
    return std::generic_category().message(err);
}

struct ctx_free {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct ssl_free {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
};

bool stream_transport(kind k) {
    return k == kind::tcp || k == kind::tls;
}

} // namespace

struct syslog_sender::tls_state {
    std::unique_ptr<SSL_CTX, ctx_free> ctx;
    std::unique_ptr<SSL, ssl_free> ssl;
};

syslog_sender::syslog_sender(config::audit_syslog_target target, server::syslog_counters& counters)
    : target_(std::move(target))
    , counters_(counters) {
    origin_.facility = target_.facility;
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0)
        origin_.hostname = sanitize_hostname(host);
    else
        origin_.hostname = "-";
    origin_.pid = static_cast<unsigned long>(::getpid());
    if (target_.transport == kind::unix_socket) {
        sockaddr_un un{};
        if (target_.path.native().size() >= sizeof un.sun_path)
            throw std::runtime_error("gateway.audit_syslog: the socket path " +
                                     target_.path.string() + " is too long (at most " +
                                     std::to_string(sizeof un.sun_path - 1) + " bytes)");
        return;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = target_.transport == kind::udp ? SOCK_DGRAM : SOCK_STREAM;
    addrinfo* found = nullptr;
    auto const port = std::to_string(target_.port);
    if (int rc = ::getaddrinfo(target_.host.c_str(), port.c_str(), &hints, &found); rc != 0)
        throw std::runtime_error("gateway.audit_syslog: cannot resolve \"" + target_.host +
                                 "\": " + ::gai_strerror(rc) +
                                 " (fix the host name or write an IP address)");
    for (auto* a = found; a != nullptr; a = a->ai_next) {
        address entry;
        std::memcpy(&entry.addr, a->ai_addr, a->ai_addrlen);
        entry.len = a->ai_addrlen;
        addresses_.push_back(entry);
    }
    ::freeaddrinfo(found);
    if (target_.transport != kind::tls)
        return;
    tls_ = std::make_unique<tls_state>();
    tls_->ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (!tls_->ctx)
        throw std::runtime_error("gateway.audit_syslog: " + openssl_error());
    SSL_CTX_set_min_proto_version(tls_->ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_verify(tls_->ctx.get(), SSL_VERIFY_PEER, nullptr);
    // The trust anchors are read whole now: a hashed certificate folder would be read at each
    // handshake, after Landlock has closed it.
    if (!target_.ca.empty()) {
        if (SSL_CTX_load_verify_locations(tls_->ctx.get(), target_.ca.c_str(), nullptr) != 1)
            throw std::runtime_error("gateway.audit_syslog_ca: cannot load " + target_.ca.string() +
                                     ": " + openssl_error() +
                                     " (a PEM file with the collector's CA certificate)");
    } else {
        // NOLINTNEXTLINE(concurrency-mt-unsafe): at start-up, before any other thread runs
        char const* env = std::getenv(X509_get_default_cert_file_env());
        std::string const file = env != nullptr ? env : X509_get_default_cert_file();
        if (SSL_CTX_load_verify_locations(tls_->ctx.get(), file.c_str(), nullptr) != 1)
            throw std::runtime_error("gateway.audit_syslog: cannot load the system trust store " +
                                     file + ": " + openssl_error() +
                                     " (install ca-certificates, or set "
                                     "gateway.audit_syslog_ca to the collector's CA)");
    }
}

syslog_sender::~syslog_sender() {
    stop(std::chrono::milliseconds(0));
    disconnect();
}

void syslog_sender::start() {
    thread_ = std::thread([this] { run(); });
}

void syslog_sender::submit(audit_record const& r, std::string const& json) {
    auto message = format_syslog(origin_, r, json);
    {
        std::lock_guard lock(mu_);
        if (stopping_ || queue_.size() >= target_.queue ||
            queued_bytes_ + message.size() > max_queued_bytes) {
            counters_.dropped.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        queued_bytes_ += message.size();
        queue_.push_back(std::move(message));
        counters_.queued.fetch_add(1, std::memory_order_relaxed);
    }
    wake_.notify_one();
}

void syslog_sender::stop(std::chrono::milliseconds grace) {
    {
        std::lock_guard lock(mu_);
        if (!stopping_) {
            stopping_ = true;
            stop_by_ = std::chrono::steady_clock::now() + grace;
        }
    }
    wake_.notify_one();
    if (thread_.joinable())
        thread_.join();
}

void syslog_sender::run() {
    auto retry = std::chrono::steady_clock::duration(first_retry);
    bool outage_logged = false;
    auto const log_outage = [&] {
        spdlog::warn("gateway.audit_syslog: cannot reach {}: {}; records wait in the queue (up "
                     "to {}, then they are dropped and counted), retrying",
                     target_.url, last_error_, target_.queue);
        outage_logged = true;
    };
    // Connect at once, so that the log says at start-up whether the collector is reachable.
    if (connect_collector())
        spdlog::info("gateway.audit_syslog: connected to {}", target_.url);
    else
        log_outage();
    std::unique_lock lock(mu_);
    for (;;) {
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_ && (queue_.empty() || std::chrono::steady_clock::now() >= stop_by_))
            break;
        std::string const message = queue_.front(); // popped once the collector has it
        lock.unlock();
        if (connected_ && peer_closed()) {
            last_error_ = "the collector closed the connection";
            disconnect();
        }
        bool const was_connected = connected_;
        bool sent = false;
        if (connected_ || connect_collector()) {
            if (!was_connected) {
                spdlog::info("gateway.audit_syslog: {} {}",
                             outage_logged ? "reconnected to" : "connected to", target_.url);
                outage_logged = false;
                retry = first_retry;
            }
            sent = send_message(message);
            if (!sent)
                disconnect();
        }
        lock.lock();
        if (sent) {
            queued_bytes_ -= queue_.front().size();
            queue_.pop_front();
            counters_.queued.fetch_sub(1, std::memory_order_relaxed);
            counters_.sent.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        if (!outage_logged)
            log_outage();
        else
            spdlog::debug("gateway.audit_syslog: {}: {}", target_.url, last_error_);
        if (stopping_)
            break;
        wake_.wait_for(lock, retry, [&] { return stopping_; });
        retry = std::min<std::chrono::steady_clock::duration>(retry * 2, last_retry);
    }
    if (!queue_.empty())
        spdlog::warn("gateway.audit_syslog: {} record(s) not sent at shutdown (the audit file "
                     "has them)",
                     queue_.size());
}

bool syslog_sender::open_socket(sockaddr_storage const& addr, socklen_t len, int type) {
    int const fd = ::socket(addr.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        last_error_ = "socket: " + errno_text(errno);
        return false;
    }
    int rc = ::connect(fd, reinterpret_cast<sockaddr const*>(&addr), len);
    if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        rc = ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(io_timeout).count()));
        int err = ETIMEDOUT;
        socklen_t err_len = sizeof err;
        if (rc == 1)
            (void)::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
        errno = err;
        rc = err == 0 ? 0 : -1;
    }
    if (rc != 0) {
        int const err = errno;
        last_error_ = errno_text(err);
        if (err == EPROTOTYPE)
            last_error_ += " (a stream socket: dockgate sends datagrams, as syslog(3) does; point "
                           "gateway.audit_syslog at a datagram socket such as rsyslog's imuxsock "
                           "or journald's /dev/log)";
        ::close(fd);
        return false;
    }
    // Blocking from here, each call bounded: the thread is the collector's alone.
    timeval const tv{static_cast<time_t>(io_timeout.count()), 0};
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    fd_ = fd;
    return true;
}

bool syslog_sender::connect_collector() {
    if (target_.transport == kind::unix_socket) {
        sockaddr_storage addr{};
        auto* un = reinterpret_cast<sockaddr_un*>(&addr);
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, target_.path.c_str(), target_.path.native().size() + 1);
        if (!open_socket(addr, sizeof(sockaddr_un), SOCK_DGRAM)) {
            last_error_ = target_.path.string() + ": " + last_error_;
            return false;
        }
        connected_ = true;
        counters_.connected.store(1);
        return true;
    }
    int const type = stream_transport(target_.transport) ? SOCK_STREAM : SOCK_DGRAM;
    for (auto const& a : addresses_) {
        if (open_socket(a.addr, a.len, type))
            break;
    }
    if (fd_ < 0)
        return false;
    if (target_.transport == kind::tls) {
        tls_->ssl.reset(SSL_new(tls_->ctx.get()));
        auto* ssl = tls_->ssl.get();
        in6_addr ip{};
        bool const literal = ::inet_pton(AF_INET, target_.host.c_str(), &ip) == 1 ||
                             ::inet_pton(AF_INET6, target_.host.c_str(), &ip) == 1;
        bool ok = ssl != nullptr && SSL_set_fd(ssl, fd_) == 1;
        if (ok && literal)
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), target_.host.c_str()) == 1;
        else if (ok)
            ok = SSL_set_tlsext_host_name(ssl, target_.host.c_str()) == 1 &&
                 SSL_set1_host(ssl, target_.host.c_str()) == 1;
        ERR_clear_error();
        if (!ok || SSL_connect(ssl) != 1) {
            auto const verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
            last_error_ =
                "TLS handshake: " + (verify != X509_V_OK
                                         ? std::string("certificate not trusted: ") +
                                               X509_verify_cert_error_string(verify)
                                         : openssl_error("the connection failed or timed out"));
            disconnect();
            return false;
        }
    }
    connected_ = true;
    counters_.connected.store(1);
    return true;
}

bool syslog_sender::peer_closed() const {
    // Collectors never write on a syslog stream: anything readable is its end (or an alert).
    // Seen before writing, a graceful close costs no record.
    if (!stream_transport(target_.transport))
        return false;
    pollfd p{fd_, POLLIN | POLLRDHUP, 0};
    return ::poll(&p, 1, 0) == 1 && p.revents != 0;
}

bool syslog_sender::send_message(std::string const& message) {
    if (!stream_transport(target_.transport)) {
        std::string_view datagram = message;
        if (datagram.size() > max_datagram) {
            datagram = datagram.substr(0, max_datagram);
            counters_.truncated.fetch_add(1, std::memory_order_relaxed);
        }
        if (::send(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(datagram.size())) {
            last_error_ = "send: " + errno_text(errno);
            return false;
        }
        return true;
    }
    auto const frame = octet_frame(message);
    std::size_t done = 0;
    while (done < frame.size()) {
        if (tls_) {
            std::size_t n = 0;
            ERR_clear_error();
            if (SSL_write_ex(tls_->ssl.get(), frame.data() + done, frame.size() - done, &n) != 1) {
                last_error_ = "TLS write: " + openssl_error("the connection failed or timed out");
                return false;
            }
            done += n;
            continue;
        }
        auto const n = ::send(fd_, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
        if (n <= 0) {
            last_error_ = "send: " + errno_text(n < 0 ? errno : EPIPE);
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

void syslog_sender::disconnect() {
    if (tls_)
        tls_->ssl.reset();
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
    if (connected_)
        counters_.connected.store(0);
    connected_ = false;
}

} // namespace dockgate::audit
