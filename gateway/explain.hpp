#pragma once
// `dockgate explain`: what the gateway decides for one request, by the very admission object
// the gateway runs, with the daemon look-ups it needs answered live or from a file.

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "gateway/admission/admission.hpp"
#include "gateway/server/runtime.hpp"

namespace dockgate {

struct explain_request {
    std::string user;
    std::vector<std::string> groups; // as the credential would carry them (certificate O values)
    std::string request_line;        // "POST /v1.41/containers/create?name=x"
    std::string body;                // "" when none
    std::string content_type;        // the Content-Type header, "" when the request has none
    bool chunked = false;            // sent with Transfer-Encoding: chunked (a body, maybe empty)
    bool json = false;               // print one JSON object instead of lines of text
};

/// Answers one daemon look-up.
using lookup_answerer = std::function<admission::daemon_reply(admission::lookup const&)>;

/// Canned answers from a JSON file: an object whose keys are look-up paths
/// ("/v1.41/images/busybox/json", or the same without the version prefix) and whose values are
/// {"status": 200, "body": <the daemon's JSON reply>}. A look-up the file does not answer fails
/// (as an unreachable daemon would). Throws std::runtime_error naming the problem.
lookup_answerer canned_lookups(std::filesystem::path const& file);

/// Prints the decision, the role and rule that decided it, the look-ups made, and the target and
/// body that would be forwarded. Returns 0 when the request would be forwarded (or answered for
/// the caller), 3 when refused, 1 when the request line is malformed.
int explain(std::shared_ptr<server::snapshot const> const& snap, explain_request const& req,
            lookup_answerer const& ask, std::ostream& out);

} // namespace dockgate
