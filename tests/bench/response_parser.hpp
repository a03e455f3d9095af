#pragma once
// Incremental HTTP/1.1 response parser for a load client that sends one request at a time
// on a connection. It finds the head, then frames the body by chunked encoding,
// Content-Length or connection close, counting body bytes without keeping them (a 1 GB
// stream costs no memory). It is strict about framing on purpose: a proxy that mangles
// chunk sizes, line endings or lengths shows up as an error instead of a wrong number.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace dockgate::bench {

class response_parser {
public:
    /// Longest head accepted (status line and headers).
    static constexpr std::size_t head_limit = 64 * 1024;

    /// Prepares for the response to the next request. HEAD responses carry no body.
    void reset(bool head_request = false);

    /// Consumes up to `n` bytes and stops at the end of the response; returns how many bytes
    /// it used. Bytes left over belong to nothing (this client never pipelines).
    std::size_t feed(char const* data, std::size_t n);

    /// The peer closed the connection: completes a body delimited by close, fails otherwise.
    void eof();

    bool done() const { return state_ == state::done; }
    bool failed() const { return state_ == state::failed; }
    /// True once any byte of the response arrived.
    bool started() const { return started_; }
    std::string const& error() const { return error_; }
    unsigned status() const { return status_; }
    /// Whether the connection may carry another request after this response.
    bool keep_alive() const { return keep_alive_; }
    bool chunked() const { return chunked_; }
    std::uint64_t body_bytes() const { return body_bytes_; }
    std::optional<std::uint64_t> content_length() const { return content_length_; }

private:
    enum class state {
        head,
        fixed_body,
        chunk_size,
        chunk_data,
        chunk_end,
        trailer,
        until_close,
        done,
        failed
    };

    std::size_t feed_head(char const* data, std::size_t n);
    void parse_head();
    // Appends bytes up to and including LF to line_; true when a CRLF-terminated line is
    // complete (line_ then holds it without the CRLF).
    bool take_line(char const* data, std::size_t n, std::size_t& used);
    void fail(std::string why);

    state state_ = state::head;
    bool head_request_ = false;
    bool started_ = false;
    std::string head_;
    std::string line_;
    std::string error_;
    unsigned status_ = 0;
    bool keep_alive_ = true;
    bool chunked_ = false;
    std::optional<std::uint64_t> content_length_;
    std::uint64_t remaining_ = 0;
    std::uint64_t body_bytes_ = 0;
};

} // namespace dockgate::bench
