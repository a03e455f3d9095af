#pragma once
// Drives an admission the way the session does, with the daemon's replies canned: a config from
// TOML text, an identity, a request, and a map of look-up paths to replies. Every look-up made is
// recorded, so a test can assert what the engine asked as well as what it decided.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "gateway/admission/admission.hpp"
#include "gateway/server/runtime.hpp"

namespace dockgate::admission::test {

/// [gateway] and a unix listener; append roles and users.
inline std::string const config_head = R"(
[gateway]
upstream = "unix:///run/docker-test.sock"
[listen.unix]
path = "/run/dockgate-test.sock"
[users.alice]
groups = ["developers"]
[users.bob]
groups = ["developers"]
)";

inline std::shared_ptr<server::snapshot const> snapshot_of(std::string const& roles) {
    auto cfg = std::make_shared<config::config const>(
        config::parse_config(config_head + roles, "/tmp", "test.toml"));
    return std::make_shared<server::snapshot const>(std::move(cfg));
}

struct outcome_of {
    verdict result;
    std::vector<std::string> asked; // look-up paths, in order
    std::optional<std::uint64_t> body_limit;
};

class daemon {
public:
    /// `path` as the engine asks it (with the version prefix); `body` the JSON reply.
    daemon& answer(std::string path, unsigned status, std::string body) {
        replies_[std::move(path)] = daemon_reply{status, std::move(body)};
        return *this;
    }
    /// A look-up nobody set up is answered 404 ("no such ..."), like a daemon without it;
    /// unreachable() makes every such look-up fail instead.
    daemon& unreachable() {
        unreachable_ = true;
        return *this;
    }
    daemon_reply get(std::string const& path) const {
        if (auto it = replies_.find(path); it != replies_.end())
            return it->second;
        if (unreachable_)
            return {};
        return {404, R"({"message":"not found"})"};
    }

private:
    std::map<std::string, daemon_reply> replies_;
    bool unreachable_ = false;
};

struct request {
    std::string user = "alice";
    std::string method = "POST";
    std::string target;
    std::string body;
    std::string content_type = "application/json";
};

/// Resolves nothing: every host path is itself (no symbolic links).
inline resolved_path no_links(std::string_view path) {
    return {std::string(path), {}};
}

inline outcome_of run(std::shared_ptr<server::snapshot const> const& snap, daemon const& d,
                      request const& r, host_path_resolver resolve = &no_links) {
    policy::identity who;
    who.user = r.user;
    who.groups = policy::resolve_groups(*snap->cfg, r.user, {});
    auto const roles = snap->policy.roles_of(who);
    request_head head;
    head.method = r.method;
    head.target = r.target;
    head.content_type = r.content_type;
    head.has_body = !r.body.empty();
    admission a(snap, who, roles, head, std::move(resolve));
    outcome_of out;
    out.body_limit = a.body_limit();
    step s;
    if (out.body_limit && r.body.size() > *out.body_limit)
        s = a.body_too_large();
    else
        s = a.start(out.body_limit ? r.body : std::string());
    while (s.needs_lookup()) {
        out.asked.push_back(s.lookup_request().path);
        s = a.resume(d.get(s.lookup_request().path));
    }
    out.result = s.result();
    return out;
}

} // namespace dockgate::admission::test
