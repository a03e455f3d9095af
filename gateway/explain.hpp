#pragma once
// `dockgate explain`: what the gateway would decide for one request, without a daemon.

#include <iosfwd>
#include <string>
#include <vector>

#include "gateway/server/runtime.hpp"

namespace dockgate {

struct explain_request {
    std::string user;
    std::vector<std::string> groups; // as the credential would carry them (certificate O values)
    std::string request_line;        // "POST /v1.41/containers/create?name=x"
    std::string body;                // "" when none
    std::string content_type = "application/json";
};

/// Prints the decision, the role and rule that decided it, the facts that would be looked up
/// from the daemon, and the canonical body that would be forwarded. Returns 0 when the request
/// would be forwarded, 3 when refused, 1 when the request itself is malformed.
int explain(server::snapshot const& snap, explain_request const& req, std::ostream& out);

} // namespace dockgate
