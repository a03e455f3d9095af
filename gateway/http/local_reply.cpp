#include "gateway/http/local_reply.hpp"

namespace dockgate::http {

namespace {

char const* reason_phrase(unsigned status) {
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 408:
        return "Request Timeout";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}

} // namespace

std::string local_reply(unsigned status, std::string_view message, bool close, bool head_only,
                        std::string_view extra_headers) {
    std::string body = "{\"message\":";
    append_json_string(body, message);
    body += "}\n";
    return local_json_reply(status, body, close, head_only, extra_headers);
}

std::string local_json_reply(unsigned status, std::string_view body, bool close, bool head_only,
                             std::string_view extra_headers) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + ' ' + reason_phrase(status) + "\r\n";
    out += "Content-Type: application/json\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += "Server: dockgate\r\n";
    out += extra_headers;
    if (close)
        out += "Connection: close\r\n";
    out += "\r\n";
    if (!head_only)
        out += body;
    return out;
}

} // namespace dockgate::http
