#include <gtest/gtest.h>

#include "gateway/inspect/go_query.hpp"

namespace dockgate::inspect {
namespace {

std::vector<query_param> ok(std::string_view raw) {
    auto r = parse_go_query(raw);
    if (auto const* e = std::get_if<std::string>(&r))
        ADD_FAILURE() << raw << ": " << *e;
    return std::get_if<std::vector<query_param>>(&r) ? std::get<std::vector<query_param>>(r)
                                                     : std::vector<query_param>{};
}

TEST(go_query, parses_like_url_parse_query) {
    EXPECT_EQ(ok("a=1&b=x+y&c=%2F%3b&d&=e&&f="),
              (std::vector<query_param>{
                  {"a", "1"}, {"b", "x y"}, {"c", "/;"}, {"d", ""}, {"", "e"}, {"f", ""}}));
    EXPECT_EQ(ok("fromImage=ubuntu&fromImage=evil").size(), 2u);
    EXPECT_EQ(ok("a=b=c"), (std::vector<query_param>{{"a", "b=c"}}));
    EXPECT_TRUE(ok("").empty());
}

TEST(go_query, refuses_what_go_refuses) {
    for (auto const* raw : {"a=1;b=2", "networkmode=host;", "a=%", "a=%4", "a=%zz", "%=1"})
        EXPECT_TRUE(std::holds_alternative<std::string>(parse_go_query(raw))) << raw;
}

TEST(go_query, encode_round_trips_through_parse) {
    std::vector<query_param> const q{
        {"filters", "{\"label\":{\"a=b c\":true}}"}, {"all", "1"}, {"x&y", "%;+/"}, {"", ""}};
    auto const encoded = encode_go_query(q);
    EXPECT_EQ(encoded.find_first_of(" ;+\"{}"), std::string::npos) << encoded;
    EXPECT_EQ(ok(encoded), q);
    EXPECT_EQ(encode_go_query(std::vector<query_param>{{"a", "1"}, {"a", "2"}}), "a=1&a=2");
}

TEST(go_query, get_and_count) {
    auto const q = ok("t=a&t=b&x=1");
    EXPECT_EQ(query_get(q, "t"), "a");
    EXPECT_EQ(query_count(q, "t"), 2u);
    EXPECT_EQ(query_count(q, "T"), 0u);
    EXPECT_FALSE(query_get(q, "y").has_value());
}

// U+00A0 and U+017F are written as \u escapes: the literals hold their UTF-8 bytes.
TEST(go_query, form_bool_is_httputils_bool_value) {
    for (auto const* f :
         {"", "0", "no", "NO", "false", "False", "none", " none ", "\t0\n", "\u00A0false"})
        EXPECT_FALSE(go_form_bool(f)) << f;
    for (auto const* t : {"1", "true", "yes", "2", "off", "f", "n", "nó", "fal\u017Fe", "x\xFF"})
        EXPECT_TRUE(go_form_bool(t)) << t;
}

TEST(go_query, form_content_types) {
    EXPECT_TRUE(is_form_content_type("application/x-www-form-urlencoded"));
    EXPECT_TRUE(is_form_content_type(" APPLICATION/x-www-form-urlencoded ;charset=utf-8"));
    EXPECT_TRUE(is_form_content_type("multipart/form-data; boundary=abc"));
    EXPECT_TRUE(
        is_form_content_type("appl\xC4\xB0"
                             "cation/x-www-form-urlencoded")); // Go lower-cases U+0130 to 'i'
    EXPECT_FALSE(is_form_content_type("application/json"));
    EXPECT_FALSE(is_form_content_type(""));
    EXPECT_FALSE(is_form_content_type("application/x-tar"));
}

} // namespace
} // namespace dockgate::inspect
