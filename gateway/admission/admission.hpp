#pragma once
// The decision about one request, in one place: which operation it is, whether the caller's
// roles allow it, what their constraints and ownership make of its target, query and body, and
// what exactly goes to the daemon. The session, `dockgate explain` and the unit tests drive this
// same object, so they cannot disagree.
//
// It is pure: no sockets, no threads, no clock. Facts it needs from the daemon (an image's user,
// who owns a container, a network's driver) it asks for as a look-up, which the caller performs
// and feeds back:
//
//     admission a{snapshot, identity, roles, head};     // pins config, roles and budget
//     if (auto limit = a.body_limit()) read the whole body (or: step = a.body_too_large())
//     for (auto step = a.start(body); step.needs_lookup(); )
//         step = a.resume(daemon_get(step.lookup_request())); // the only I/O, by the caller
//     step.result(): outcome, status, message, rule, target and body to forward
//
// The snapshot and the roles given to the constructor are used for the whole request, however
// long its look-ups take: a reload in the middle never mixes two configs. One request may need
// at most max_lookups look-ups; beyond that it is refused.
//
// Threading: an admission belongs to the thread that drives it. It must not be moved once
// start() was called (it is neither copyable nor movable).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/host_path.hpp"
#include "gateway/policy/identity.hpp"
#include "gateway/policy/outcome.hpp"

namespace dockgate::server {
struct snapshot;
}

namespace dockgate::admission {

using policy::outcome;

/// How many daemon look-ups one request may need before it is refused: objects that join or
/// mount others could otherwise fan out without bound.
inline constexpr int max_lookups = 64;

/// The request head as the session parsed it (framing already checked).
struct request_head {
    std::string method;       // "POST"
    std::string target;       // the request-target as received: "/v1.41/containers/create?name=x"
    std::string content_type; // the Content-Type value, "" when absent
    bool has_body = false;    // a Content-Length above 0, or a chunked body
};

/// A GET the caller makes to the daemon, on a connection of its own, and answers with resume().
struct lookup {
    std::string path;          // with the request's version prefix: "/v1.41/images/x/json"
    std::size_t max_bytes = 0; // a longer reply body counts as a failed look-up
};

struct daemon_reply {
    unsigned status = 0; // the daemon's status; 0 when it could not be asked or the reply failed
    std::string body;
};

/// The final answer about a request.
struct verdict {
    outcome result = outcome::deny;
    unsigned status = 403; // forwarded requests: 0 (the daemon's status is theirs to give)
    std::string message;   // refusals: the sentence the client reads in {"message": ...}
    std::string role;      // the role that decided ("" when none did)
    std::string rule;      // the config key that decided: "roles.dev.containers.privileged"
    std::string reason;    // refusals and would-deny: the short reason for the audit line
    // Forwarded requests whose body or query was judged: what they asked of the host, as the
    // audit line's "request" object (inspect/request_facts.hpp); "" when nothing is recorded.
    std::string request_facts;
    // The canonical target, rewritten where the decision pinned an object to its full id; the
    // raw target, cut to 256 bytes, when it could not be canonicalised.
    std::string target;
    // Forwarded requests whose body was read: the bytes to send, framed by Content-Length.
    // nullopt: the body (if any) is streamed as received.
    std::optional<std::string> forward_body;
    // Answered by the gateway for the caller with this JSON and status 200, not forwarded
    // (the disk usage of an ownership role, confined to the caller's objects).
    std::optional<std::string> reply_body;
    // Refusals after which the connection is closed: a malformed request, or a body too large
    // to read.
    bool close_connection = false;

    bool forwards() const noexcept { return policy::forwards(result) && !reply_body; }
};

/// What start() and resume() return: a look-up to make, or the final verdict.
class step {
public:
    bool needs_lookup() const noexcept { return lookup_ != nullptr; }
    /// needs_lookup(): what to ask the daemon.
    lookup const& lookup_request() const noexcept { return *lookup_; }
    /// !needs_lookup(): the verdict, valid as long as the admission lives.
    verdict const& result() const noexcept { return *verdict_; }

private:
    friend class admission;
    lookup const* lookup_ = nullptr;
    verdict const* verdict_ = nullptr;
};

/// A look-up made during the decision and its reply, for `dockgate explain`.
struct lookup_record {
    std::string path;
    unsigned status = 0;
};

/// Resolves a host path with every symbolic link followed (see common/host_path.hpp); replaced
/// in tests.
using host_path_resolver = std::function<resolved_path(std::string_view)>;

class admission {
public:
    admission(std::shared_ptr<server::snapshot const> snapshot, policy::identity const& who,
              std::vector<std::string> roles, request_head head,
              host_path_resolver resolve = &resolve_host_path);
    ~admission();
    admission(admission const&) = delete;
    admission& operator=(admission const&) = delete;

    /// The Engine API operationId the target routes to, "" when it does not route.
    std::string_view operation() const noexcept;

    /// When set, the caller reads the whole body (de-chunked) before start(), up to this many
    /// bytes; past it, it calls body_too_large() instead. When nullopt the body is not judged
    /// and is streamed to the daemon as received (pass "" to start()).
    std::optional<std::uint64_t> body_limit() const noexcept;

    step start(std::string body = {});
    step body_too_large();
    /// The reply to the look-up of the previous step.
    step resume(daemon_reply reply);

    /// Every look-up made so far, in order.
    std::vector<lookup_record> const& lookups() const noexcept;

    struct state;

private:
    step next();
    std::unique_ptr<state> state_;
};

} // namespace dockgate::admission
