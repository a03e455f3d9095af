// Any byte string as the start of a connection: the head scanner and the Beast-based field
// checks must not crash, must never report a head longer than the input or the limit, and an
// accepted head must have unambiguous framing.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/http/head_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    constexpr std::size_t limit = 4096;
    std::string_view const raw(reinterpret_cast<char const*>(data), size);
    auto const scan = dockgate::http::scan_head(raw, limit);
    if (scan.result != dockgate::http::head_scan::state::complete)
        return 0;
    if (scan.length > raw.size() || scan.length > limit)
        std::abort();
    dockgate::http::request_parser parser;
    parser.header_limit(limit);
    auto const err = dockgate::http::parse_head(raw.substr(0, scan.length), parser);
    if (!err) {
        if (!parser.is_header_done())
            std::abort();
        // Accepted: at most one of the framing headers, as checked.
        if (parser.chunked() && parser.content_length())
            std::abort();
    }
    return 0;
}
