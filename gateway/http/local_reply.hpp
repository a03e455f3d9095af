#pragma once
// Responses the gateway writes itself (denials, malformed requests, daemon unreachable).
// The body is the Engine API's error shape, {"message": "..."}, which the docker CLI prints
// as "Error response from daemon: <message>".

#include <string>
#include <string_view>

#include "common/json_escape.hpp"

namespace dockgate::http {

/// A complete HTTP/1.1 response with a JSON error body. `close` adds "Connection: close".
/// `head_only` (for HEAD requests) omits the body but keeps its Content-Length. `extra_headers`
/// are whole header lines, each ending in CRLF ("Retry-After: 1\r\n").
std::string local_reply(unsigned status, std::string_view message, bool close,
                        bool head_only = false, std::string_view extra_headers = {});

/// A complete HTTP/1.1 response carrying `json` as its body (a reply the gateway rewrote).
std::string local_json_reply(unsigned status, std::string_view json, bool close,
                             bool head_only = false, std::string_view extra_headers = {});

using dockgate::append_json_string;

} // namespace dockgate::http
