#include "gateway/http/head_check.hpp"

#include <algorithm>

#include <boost/beast/http/field.hpp>

namespace dockgate::http {

namespace beast_http = boost::beast::http;

head_scan scan_head(std::string_view in, std::size_t limit) {
    auto invalid = [](unsigned status, std::string reason) {
        head_scan s;
        s.result = head_scan::state::invalid;
        s.error = head_error{status, std::move(reason)};
        return s;
    };
    std::size_t const n = std::min(in.size(), limit);
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < n; ++i) {
        auto const c = static_cast<unsigned char>(in[i]);
        if (c == '\r') {
            if (i + 1 >= in.size())
                break; // the LF may still come
            if (in[i + 1] != '\n')
                return invalid(400, "bare CR in request head");
            if (i == line_start) {
                if (line_start == 0)
                    return invalid(400, "empty line before the request line");
                return {head_scan::state::complete, i + 2, std::nullopt};
            }
            line_start = i + 2;
            ++i;
            if (line_start < in.size() && (in[line_start] == ' ' || in[line_start] == '\t'))
                return invalid(400, "obsolete line folding (obs-fold) in request head");
            continue;
        }
        if (c == '\n')
            return invalid(400, "bare LF in request head (lines must end with CRLF)");
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return invalid(400, "control character in request head");
    }
    if (in.size() >= limit)
        return invalid(431, "request head larger than limits.header_bytes (" +
                                std::to_string(limit) + " bytes)");
    return {};
}

namespace {

bool all_digits(std::string_view v) {
    return !v.empty() && v.size() <= 19 &&
           std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

} // namespace

std::optional<head_error> parse_head(std::string_view head, request_parser& parser) {
    boost::system::error_code ec;
    parser.eager(false);
    auto const used = parser.put(boost::asio::buffer(head.data(), head.size()), ec);
    if (ec == beast_http::error::header_limit)
        return head_error{431, "request head too large"};
    if (ec || !parser.is_header_done() || used != head.size())
        return head_error{400,
                          "malformed request head" + (ec ? ": " + ec.message() : std::string())};

    auto const& req = parser.get();
    if (req.version() != 11 && req.version() != 10)
        return head_error{505, "HTTP version not supported (use HTTP/1.1)"};

    std::size_t hosts = 0, lengths = 0, encodings = 0;
    for (auto const& f : req) {
        switch (f.name()) {
        case beast_http::field::host:
            ++hosts;
            break;
        case beast_http::field::content_length:
            ++lengths;
            if (!all_digits(f.value()))
                return head_error{400, "invalid Content-Length"};
            break;
        case beast_http::field::transfer_encoding:
            ++encodings;
            if (!iequals(f.value(), "chunked"))
                return head_error{501,
                                  "unsupported Transfer-Encoding (only \"chunked\" is accepted)"};
            break;
        default:
            break;
        }
    }
    if (hosts > 1)
        return head_error{400, "duplicate Host header"};
    if (hosts == 0 && req.version() == 11)
        return head_error{400, "missing Host header"};
    if (lengths > 1)
        return head_error{400, "duplicate Content-Length"};
    if (encodings > 1)
        return head_error{400, "duplicate Transfer-Encoding"};
    if (lengths > 0 && encodings > 0)
        return head_error{400, "both Content-Length and Transfer-Encoding"};
    return std::nullopt;
}

} // namespace dockgate::http
