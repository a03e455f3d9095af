#pragma once
// The audit trail: one JSON object per line for every request, allowed or not.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/policy/identity.hpp"
#include "gateway/policy/outcome.hpp"

namespace spdlog {
class logger;
}

namespace dockgate::audit {

struct audit_record {
    std::chrono::system_clock::time_point time;
    std::uint64_t connection = 0;
    policy::identity const* who = nullptr; // transport, peer, user, groups, credential
    std::vector<std::string> const* roles = nullptr;
    std::string_view operation; // operationId, or "" when the request never got that far
    std::string_view method;
    std::string_view path; // canonical target (or the raw one, truncated, when it was refused)
    policy::outcome decision = policy::outcome::deny;
    std::string_view role;
    std::string_view rule;
    std::string_view reason;
    // What a judged request asked of the host: one compact JSON object
    // (gateway/inspect/request_facts.hpp), written as is; "" leaves the field out.
    std::string_view request;
    unsigned status = 0;
    std::uint64_t bytes_in = 0;  // request bytes from the client (head and body)
    std::uint64_t bytes_out = 0; // response bytes to the client (head and body)
    std::chrono::steady_clock::duration elapsed{};
};

/// RFC 3339 in UTC with milliseconds: "2024-05-01T12:00:00.123Z".
std::string format_time(std::chrono::system_clock::time_point t);

/// Formats one record as a single JSON line (without the newline).
std::string format_record(audit_record const& r);

/// Thread-safe sink; `target` is a file path (appended to, created 0640) or "-" for stdout.
/// Each line is written (one write) as it is logged.
class audit_log {
public:
    explicit audit_log(std::string const& target);
    ~audit_log();
    void write(audit_record const& r);
    void flush();

    /// Also hands every record, with its JSON line, to `copy` (after the file has it). Set
    /// before any thread writes; `copy` must not block.
    using copy_fn = std::function<void(audit_record const&, std::string const& json)>;
    void copy_to(copy_fn copy) { copy_ = std::move(copy); }

private:
    std::shared_ptr<spdlog::logger> logger_;
    copy_fn copy_;
};

} // namespace dockgate::audit
