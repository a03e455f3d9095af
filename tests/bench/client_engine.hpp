#pragma once
// The event loop of the benchmark client: one thread, one epoll set, non-blocking sockets,
// OpenSSL used directly. It costs as little CPU per request as we could make it, because it
// shares a small machine with the servers it measures.
//
// A connection walks closed -> connecting -> (handshaking) -> ready -> sending -> receiving
// -> ready ... The engine calls the mode's hooks at each step; hooks may call send(),
// close() and reopen_later() but never open() (new connections are opened from the mode's
// own loop between polls, so no hook ever re-enters the engine for another connection).
//
// An `exec` target is a child process instead of a socket: the engine starts the command
// (`/bin/sh -c "exec CMD"`) with one end of a socketpair as its stdin and stdout, the way
// the docker CLI runs `ssh ... docker system dial-stdio` for DOCKER_HOST=ssh://, and speaks
// HTTP over the other end. One connection is one child process. Its set-up (fork/exec, the
// SSH handshake and authentication) counts as the transport's handshake: the connection is
// "ready" only after a first `GET /_ping` over it was answered 200 with keep-alive.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <sys/types.h>
#include <vector>

#include <openssl/ssl.h>

#include "tests/bench/response_parser.hpp"

namespace dockgate::bench {

using bench_clock = std::chrono::steady_clock;

/// Where the client connects, and how.
struct target {
    enum class kind { unix_socket, tcp, tls, exec } type = kind::unix_socket;
    std::string unix_path;
    std::string command; // exec only: run as /bin/sh -c "exec COMMAND"
    std::string host;
    std::uint16_t port = 0;
    std::string ca, cert, key; // TLS only
    sockaddr_storage address{};
    socklen_t address_length = 0;

    /// Resolves host/unix_path into address; throws std::runtime_error with the reason.
    void resolve();
    std::string describe() const;
};

/// A client-side TLS context with the client certificate, verifying the server against the
/// CA and the target's host/IP. Full handshakes only: no session resumption, ever.
/// `stream_reads` enlarges the read-ahead buffer for bulk transfers; `lean` releases idle
/// buffers (many idle connections).
std::shared_ptr<SSL_CTX> make_client_tls(target const& t, bool stream_reads, bool lean);

enum class phase { closed, connecting, handshaking, ready, sending, receiving };

struct connection {
    int fd = -1;
    SSL* ssl = nullptr;
    phase state = phase::closed;
    std::uint32_t interest = 0; // registered epoll events
    std::size_t sent = 0;
    response_parser parser;
    bench_clock::time_point request_started{};
    bench_clock::time_point deadline = bench_clock::time_point::max();
    std::uint64_t responses = 0; // on this connection, over all its reopenings
    int tag = 0;                 // free for the mode
    pid_t child = -1;            // exec targets: the process behind fd
    bool priming = false;        // exec targets: the set-up /_ping is in flight
};

class engine {
public:
    struct hooks {
        /// The transport is up (TLS handshake done, or an exec target's first /_ping
        /// answered); typically calls send().
        std::function<void(connection&)> ready;
        /// A complete response is in c.parser. If !c.parser.keep_alive() the hook must
        /// close() the connection (or reopen_later() it).
        std::function<void(connection&)> response;
        /// The connection failed and is already closed; `why` says what happened.
        std::function<void(connection&, std::string const& why)> failed;
    };

    /// `timeout` bounds connect+handshake, and the silence while a response is awaited.
    engine(target const& t, std::shared_ptr<SSL_CTX> tls, std::string request, bool head_request,
           std::chrono::milliseconds timeout, hooks h);
    ~engine();
    engine(engine const&) = delete;
    engine& operator=(engine const&) = delete;

    /// A connection owned by the engine (stable address).
    connection& add();
    std::vector<std::unique_ptr<connection>> const& connections() const { return conns_; }

    /// Starts connecting; failures are reported through hooks.failed.
    void open(connection& c);
    void close(connection& c);
    /// Closes now (if open) and opens again after the current poll round.
    void reopen_later(connection& c);
    /// Sends the request on a ready connection.
    void send(connection& c);
    /// Waits up to `wait` for events, handles them, enforces deadlines, runs reopenings.
    void poll(std::chrono::milliseconds wait);

    /// Negotiated protocol and cipher of the first TLS connection, or "plain".
    std::string const& tls_description() const { return tls_description_; }

private:
    void on_event(connection& c, std::uint32_t events);
    void drive(connection& c);
    void fail(connection& c, std::string const& why);
    void want(connection& c, std::uint32_t events);
    long read_some(connection& c);
    long write_some(connection& c, char const* data, std::size_t n);
    std::string ssl_failure(connection& c, int ret);
    void check_deadlines();
    void spawn(connection& c);
    void reap(bool wait_all);
    std::string child_status(pid_t pid);

    target const& target_;
    std::shared_ptr<SSL_CTX> tls_;
    std::string request_;
    bool head_request_;
    std::chrono::milliseconds timeout_;
    hooks hooks_;
    int epoll_ = -1;
    std::vector<char> buffer_;
    std::vector<std::unique_ptr<connection>> conns_;
    std::vector<connection*> reopen_;
    std::vector<pid_t> exiting_; // exec children whose connection was closed, not yet reaped
    std::string probe_;          // exec targets: the set-up request
    std::string io_error_;
    std::string tls_description_ = "plain";
    bench_clock::time_point next_sweep_ = bench_clock::now();
};

} // namespace dockgate::bench
