#pragma once
// Strict checks on a request head, so that the gateway and the daemon cannot read one request
// two ways (request smuggling). The raw bytes are scanned before Beast parses them because
// Beast tolerates forms that Go's net/http reads differently (obs-fold, repeated
// Content-Length with equal values, Transfer-Encoding codings other than "chunked").

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

namespace dockgate::http {

struct head_error {
    unsigned status; // 400, 431, 501 or 505
    std::string reason;
};

/// Outcome of looking for the end of a request head in the bytes received so far.
struct head_scan {
    enum class state { need_more, complete, invalid } result = state::need_more;
    std::size_t length = 0; // complete: bytes of the head including the final CRLFCRLF
    std::optional<head_error> error;
};

/// Finds the end of the head in `received`, rejecting as early as possible: bare CR or LF,
/// obs-fold continuation lines, control characters, leading empty lines, and heads longer than
/// `limit` bytes (431). Pure; safe on any input.
head_scan scan_head(std::string_view received, std::size_t limit);

using request_parser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;

/// Parses a complete head (as found by scan_head) into `parser` and checks its framing fields:
/// exactly one Host (HTTP/1.1), at most one Content-Length made of digits only, at most one
/// Transfer-Encoding whose value is exactly "chunked", never both, HTTP/1.0 or 1.1 only.
/// On success the parser holds the header and is ready to read the body.
std::optional<head_error> parse_head(std::string_view head, request_parser& parser);

} // namespace dockgate::http
