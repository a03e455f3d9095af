#include "tests/bench/response_parser.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace dockgate::bench {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) {
                   return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
               };
               return lower(x) == lower(y);
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// Calls f(token) for each comma-separated, trimmed token of a header value.
template <class F>
void for_each_token(std::string_view value, F f) {
    while (!value.empty()) {
        auto const comma = value.find(',');
        f(trim(value.substr(0, comma)));
        if (comma == std::string_view::npos)
            break;
        value.remove_prefix(comma + 1);
    }
}

std::optional<std::uint64_t> parse_decimal(std::string_view s) {
    if (s.empty() || s.size() > 19)
        return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
}

std::optional<std::uint64_t> parse_hex(std::string_view s) {
    if (s.empty() || s.size() > 15)
        return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        unsigned d;
        if (c >= '0' && c <= '9')
            d = static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = static_cast<unsigned>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = static_cast<unsigned>(c - 'A' + 10);
        else
            return std::nullopt;
        v = v * 16 + d;
    }
    return v;
}

} // namespace

void response_parser::reset(bool head_request) {
    state_ = state::head;
    head_request_ = head_request;
    started_ = false;
    head_.clear();
    line_.clear();
    error_.clear();
    status_ = 0;
    keep_alive_ = true;
    chunked_ = false;
    content_length_.reset();
    remaining_ = 0;
    body_bytes_ = 0;
}

void response_parser::fail(std::string why) {
    state_ = state::failed;
    error_ = std::move(why);
}

std::size_t response_parser::feed(char const* data, std::size_t n) {
    if (n > 0)
        started_ = true;
    std::size_t used = 0;
    while (used < n && state_ != state::done && state_ != state::failed) {
        char const* p = data + used;
        std::size_t const left = n - used;
        switch (state_) {
        case state::head:
            used += feed_head(p, left);
            break;
        case state::fixed_body:
        case state::chunk_data: {
            auto const take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, left));
            remaining_ -= take;
            body_bytes_ += take;
            used += take;
            if (remaining_ == 0)
                state_ = state_ == state::fixed_body ? state::done : state::chunk_end;
            break;
        }
        case state::until_close:
            body_bytes_ += left;
            used = n;
            break;
        case state::chunk_size:
            if (take_line(p, left, used)) {
                std::string_view size = line_;
                size = trim(size.substr(0, size.find(';'))); // chunk extensions are ignored
                auto const v = parse_hex(size);
                if (!v) {
                    fail("bad chunk size line \"" + line_.substr(0, 40) + "\"");
                    return used;
                }
                line_.clear();
                if (*v == 0) {
                    state_ = state::trailer;
                } else {
                    remaining_ = *v;
                    state_ = state::chunk_data;
                }
            }
            break;
        case state::chunk_end:
            if (take_line(p, left, used)) {
                if (!line_.empty()) {
                    fail("chunk data longer than its size");
                    return used;
                }
                state_ = state::chunk_size;
            }
            break;
        case state::trailer:
            if (take_line(p, left, used)) {
                bool const last = line_.empty();
                line_.clear();
                if (last)
                    state_ = state::done;
            }
            break;
        case state::done:
        case state::failed:
            break;
        }
    }
    return used;
}

bool response_parser::take_line(char const* data, std::size_t n, std::size_t& used) {
    auto const* lf = static_cast<char const*>(std::memchr(data, '\n', n));
    std::size_t const take = lf != nullptr ? static_cast<std::size_t>(lf - data) + 1 : n;
    if (line_.size() + take > 4096) {
        fail("chunk framing line longer than 4 KiB");
        used += take;
        return false;
    }
    line_.append(data, take);
    used += take;
    if (lf == nullptr)
        return false;
    if (line_.size() < 2 || line_[line_.size() - 2] != '\r') {
        fail("bare LF in chunk framing");
        return false;
    }
    line_.resize(line_.size() - 2);
    return true;
}

std::size_t response_parser::feed_head(char const* data, std::size_t n) {
    std::size_t const before = head_.size();
    std::size_t const take = std::min(n, head_limit + 4 - before);
    head_.append(data, take);
    auto const end = head_.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
    if (end == std::string::npos) {
        if (head_.size() > head_limit)
            fail("response head larger than 64 KiB");
        return take;
    }
    std::size_t const used = end + 4 - before;
    head_.resize(end + 4);
    parse_head();
    return used;
}

void response_parser::parse_head() {
    std::string_view rest = head_;
    auto next_line = [&rest]() {
        auto const eol = rest.find("\r\n");
        auto line = rest.substr(0, eol);
        rest.remove_prefix(eol + 2);
        return line;
    };
    auto const status_line = next_line();
    // "HTTP/1.1 200 OK"
    if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ')
        return fail("bad status line \"" + std::string(status_line.substr(0, 60)) + "\"");
    bool const http10 = status_line[7] == '0';
    auto const code = parse_decimal(status_line.substr(9, 3));
    if (!code || *code < 100 || *code > 599)
        return fail("bad status code in \"" + std::string(status_line.substr(0, 60)) + "\"");
    status_ = static_cast<unsigned>(*code);
    keep_alive_ = !http10;

    while (!rest.empty()) {
        auto const line = next_line();
        if (line.empty())
            break;
        auto const colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return fail("bad header line \"" + std::string(line.substr(0, 60)) + "\"");
        auto const name = line.substr(0, colon);
        auto const value = trim(line.substr(colon + 1));
        if (iequals(name, "content-length")) {
            auto const v = parse_decimal(value);
            if (!v || (content_length_ && *content_length_ != *v))
                return fail("bad or conflicting Content-Length \"" + std::string(value) + "\"");
            content_length_ = v;
        } else if (iequals(name, "transfer-encoding")) {
            std::string_view last;
            for_each_token(value, [&](std::string_view t) { last = t; });
            chunked_ = iequals(last, "chunked");
        } else if (iequals(name, "connection")) {
            for_each_token(value, [&](std::string_view t) {
                if (iequals(t, "close"))
                    keep_alive_ = false;
                else if (iequals(t, "keep-alive"))
                    keep_alive_ = true;
            });
        }
    }
    head_.clear();

    if (status_ == 100) { // interim response: the real one follows
        bool const head_request = head_request_;
        reset(head_request);
        started_ = true;
        return;
    }
    if (status_ == 101)
        return fail("unexpected 101 Switching Protocols");
    if (chunked_ && content_length_)
        return fail("both Transfer-Encoding: chunked and Content-Length");
    if (head_request_ || status_ < 200 || status_ == 204 || status_ == 304) {
        state_ = state::done;
    } else if (chunked_) {
        state_ = state::chunk_size;
    } else if (content_length_) {
        remaining_ = *content_length_;
        state_ = remaining_ == 0 ? state::done : state::fixed_body;
    } else {
        keep_alive_ = false;
        state_ = state::until_close;
    }
}

void response_parser::eof() {
    if (state_ == state::until_close) {
        state_ = state::done;
        keep_alive_ = false;
    } else if (state_ != state::done && state_ != state::failed) {
        fail(started_ ? "connection closed in the middle of a response"
                      : "connection closed before a response");
    }
}

} // namespace dockgate::bench
