#include <gtest/gtest.h>

#include "gateway/http/head_check.hpp"

namespace dockgate::http {
namespace {

struct head_case {
    char const* name;
    std::string head;
    unsigned status; // 0 = accepted
    char const* reason;
};

// Runs both stages as the session does: scan for the end, then parse and check fields.
std::optional<head_error> check(std::string const& raw, std::size_t limit = 65536) {
    auto const scan = scan_head(raw, limit);
    if (scan.result == head_scan::state::invalid)
        return scan.error;
    if (scan.result == head_scan::state::need_more)
        return head_error{0, "need more"};
    request_parser parser;
    parser.header_limit(static_cast<std::uint32_t>(limit));
    return parse_head(std::string_view(raw).substr(0, scan.length), parser);
}

class head_check : public ::testing::TestWithParam<head_case> {};

TEST_P(head_check, accepts_or_refuses) {
    auto const& c = GetParam();
    auto const err = check(c.head);
    if (c.status == 0) {
        EXPECT_FALSE(err) << err->reason;
        return;
    }
    ASSERT_TRUE(err);
    EXPECT_EQ(err->status, c.status) << err->reason;
    EXPECT_NE(err->reason.find(c.reason), std::string::npos) << err->reason;
}

std::string const ok_head = "GET /v1.41/_ping HTTP/1.1\r\nHost: docker\r\n\r\n";

INSTANTIATE_TEST_SUITE_P(
    table, head_check,
    ::testing::Values(
        head_case{"plain_get", ok_head, 0, ""},
        head_case{"post_with_length", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\n\r\n", 0,
                  ""},
        head_case{"chunked", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
                  ""},
        head_case{"chunked_any_case",
                  "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: Chunked\r\n\r\n", 0, ""},
        head_case{"http10_without_host", "GET /_ping HTTP/1.0\r\n\r\n", 0, ""},
        head_case{"cl_and_te",
                  "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\nTransfer-Encoding: "
                  "chunked\r\n\r\n",
                  400, ""},
        head_case{"te_and_cl",
                  "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nContent-Length: "
                  "5\r\n\r\n",
                  400, ""},
        head_case{"duplicate_cl_equal",
                  "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                  400, "duplicate Content-Length"},
        head_case{"duplicate_cl_differ",
                  "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                  400, ""},
        head_case{"cl_list", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 5, 5\r\n\r\n", 400,
                  ""},
        head_case{"cl_negative", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: -1\r\n\r\n", 400,
                  ""},
        head_case{"cl_letters", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: abc\r\n\r\n", 400,
                  ""},
        head_case{"cl_plus", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: +5\r\n\r\n", 400, ""},
        head_case{"te_gzip",
                  "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
                  "only \"chunked\""},
        head_case{"te_identity",
                  "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: identity\r\n\r\n", 501, ""},
        head_case{"te_twice",
                  "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                  "chunked\r\n\r\n",
                  400, ""},
        head_case{"obs_fold", "GET /x HTTP/1.1\r\nHost: d\r\nX-A: 1\r\n 2\r\n\r\n", 400,
                  "obs-fold"},
        head_case{"obs_fold_tab", "GET /x HTTP/1.1\r\nHost: d\r\nX-A: 1\r\n\t2\r\n\r\n", 400,
                  "obs-fold"},
        head_case{"bare_lf", "GET /x HTTP/1.1\nHost: d\r\n\r\n", 400, "bare LF"},
        head_case{"bare_lf_end", "GET /x HTTP/1.1\r\nHost: d\n\n", 400, "bare LF"},
        head_case{"bare_cr", "GET /x HTTP/1.1\rHost: d\r\n\r\n", 400, "bare CR"},
        head_case{"nul_in_value", std::string("GET /x HTTP/1.1\r\nHost: d\r\nX: a\0b\r\n\r\n", 36),
                  400, "control"},
        head_case{"duplicate_host", "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
                  "duplicate Host"},
        head_case{"missing_host_11", "GET /x HTTP/1.1\r\n\r\n", 400, "missing Host"},
        head_case{"space_before_colon", "GET /x HTTP/1.1\r\nHost : d\r\n\r\n", 400, "malformed"},
        head_case{"leading_empty_line", "\r\nGET /x HTTP/1.1\r\nHost: d\r\n\r\n", 400,
                  "empty line"},
        head_case{"http12_version", "GET /x HTTP/1.2\r\nHost: d\r\n\r\n", 400, "version"},
        head_case{"http2_version", "GET /x HTTP/2.0\r\nHost: d\r\n\r\n", 400, "version"},
        head_case{"garbage", "hello\r\n\r\n", 400, "malformed"}),
    [](auto const& info) { return std::string(info.param.name); });

TEST(scan_head, waits_for_the_end_of_the_head) {
    EXPECT_EQ(scan_head("GET / HTTP/1.1\r\nHost: d\r\n", 65536).result,
              head_scan::state::need_more);
    EXPECT_EQ(scan_head("GET / HTTP/1.1\r\nHost: d\r\n\r", 65536).result,
              head_scan::state::need_more);
    auto const done = scan_head(ok_head + "BODY", 65536);
    EXPECT_EQ(done.result, head_scan::state::complete);
    EXPECT_EQ(done.length, ok_head.size());
}

TEST(scan_head, oversized_head_is_431) {
    std::string big = "GET / HTTP/1.1\r\nHost: d\r\nX-Big: " + std::string(70000, 'a');
    auto const s = scan_head(big, 65536);
    ASSERT_EQ(s.result, head_scan::state::invalid);
    EXPECT_EQ(s.error->status, 431u);
    // Exactly at the limit but complete is fine.
    EXPECT_EQ(scan_head(ok_head, ok_head.size()).result, head_scan::state::complete);
}

TEST(parse_head, leaves_the_parser_ready_for_the_body) {
    std::string const head =
        "POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 2\r\n\r\n";
    request_parser parser;
    ASSERT_FALSE(parse_head(head, parser));
    EXPECT_TRUE(parser.is_header_done());
    EXPECT_FALSE(parser.is_done());
    EXPECT_EQ(parser.content_length().value_or(0), 2u);
    EXPECT_EQ(parser.get().target(), "/v1.41/containers/create");
}

} // namespace
} // namespace dockgate::http
