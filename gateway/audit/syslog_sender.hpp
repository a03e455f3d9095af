#pragma once
// gateway.audit_syslog: a copy of every audit record for a syslog collector, sent by a thread
// of its own so that a slow or absent collector never holds up a request. Records wait in a
// bounded queue; what finds it full is dropped and counted (the audit file still has it).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "gateway/audit/audit_log.hpp"
#include "gateway/audit/syslog_format.hpp"
#include "gateway/server/metrics.hpp"

namespace dockgate::audit {

/// Besides gateway.audit_syslog_queue records, the queue holds at most this many octets (a
/// record's size follows its path and groups, which the head limits bound only loosely).
inline constexpr std::size_t max_queued_bytes = 16 * 1024 * 1024;

class syslog_sender {
public:
    /// Resolves the collector's host name and loads the TLS trust anchors now, while the
    /// process may still read /etc/hosts, /etc/resolv.conf and the trust store: once confined
    /// it reconnects to the addresses found here (a new address takes a restart). Throws
    /// std::runtime_error naming gateway.audit_syslog or gateway.audit_syslog_ca.
    syslog_sender(config::audit_syslog_target target, server::syslog_counters& counters);
    ~syslog_sender();
    syslog_sender(syslog_sender const&) = delete;
    syslog_sender& operator=(syslog_sender const&) = delete;

    /// Starts the sending thread (after confinement: see confinement.hpp).
    void start();

    /// Queues one record; called on any thread, never blocks beyond a short lock.
    void submit(audit_record const& r, std::string const& json);

    /// Sends what is queued for up to `grace`, then stops the thread. Idempotent.
    void stop(std::chrono::milliseconds grace);

private:
    struct tls_state;
    void run();
    bool connect_collector();
    bool open_socket(sockaddr_storage const& addr, socklen_t len, int type);
    bool send_message(std::string const& message);
    bool peer_closed() const;
    void disconnect();

    config::audit_syslog_target target_;
    server::syslog_counters& counters_;
    syslog_origin origin_;
    struct address {
        sockaddr_storage addr{};
        socklen_t len = 0;
    };
    std::vector<address> addresses_; // udp, tcp, tls: resolved at start-up
    std::unique_ptr<tls_state> tls_;
    int fd_ = -1;
    bool connected_ = false;
    std::string last_error_;

    std::mutex mu_;
    std::condition_variable wake_;
    std::deque<std::string> queue_; // guarded by mu_
    std::size_t queued_bytes_ = 0;  // guarded by mu_
    bool stopping_ = false;         // guarded by mu_
    std::chrono::steady_clock::time_point stop_by_;
    std::thread thread_;
};

} // namespace dockgate::audit
