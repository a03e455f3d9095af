// parse_json / write_json: what Go's decoder would read differently is refused; what is
// accepted round-trips to one canonical form.

#include <gtest/gtest.h>

#include "gateway/inspect/json.hpp"

namespace dockgate::inspect {
namespace {

std::string canonical(std::string_view text) {
    auto r = parse_json(text);
    if (auto const* e = std::get_if<json_error>(&r))
        return "error: " + e->reason;
    return write_json(std::get<json_value>(r));
}

bool refused(std::string_view text, json_limits const& limits = {}) {
    return std::holds_alternative<json_error>(parse_json(text, limits));
}

TEST(json_parser, accepts_json_and_writes_it_canonically) {
    EXPECT_EQ(canonical(" { \"a\" : [ 1 , -2.5e+3 , true , false , null ] , \"b\" : { } } \r\n"),
              R"({"a":[1,-2.5e+3,true,false,null],"b":{}})");
    EXPECT_EQ(canonical(R"("\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\\u0000")"),
              "\"\xC3\xA9\xF0\x9F\x98\x80/\\u0008\\u000c\\n\\r\\t\\\"\\\\\\u0000\"");
    EXPECT_EQ(canonical("[]"), "[]");
    EXPECT_EQ(canonical("0"), "0");
    EXPECT_EQ(canonical("\"\xE2\x80\xA8\""), "\"\xE2\x80\xA8\"");
}

TEST(json_parser, refuses_keys_that_go_would_merge) {
    EXPECT_TRUE(refused(R"({"a":1,"a":2})"));
    EXPECT_TRUE(refused(R"({"Privileged":false,"privileged":true})"));
    EXPECT_TRUE(refused(R"({"PRIVILEGED":false,"PrIvIlEgEd":true})"));
    EXPECT_TRUE(refused(R"({"a":1,"\u0061":2})")); // escaped spelling
    EXPECT_TRUE(refused("{\"SecurityOpt\":[],\"\xC5\xBF"
                        "ecurityOpt\":[]}")); // U+017F long s
    EXPECT_TRUE(refused("{\"kill\":1,\"\xE2\x84\xAA"
                        "ill\":2}"));                         // U+212A Kelvin
    EXPECT_TRUE(refused("{\"links\":1,\"l\xC4\xB1nks\":2}")); // U+0131 dotless i (Go 1.21)
    EXPECT_TRUE(refused("{\"links\":1,\"L\xC4\xB0NKS\":2}")); // U+0130 dotted I (Go 1.21)
    EXPECT_TRUE(refused("{\"\xC3\xA9\":1,\"\xC3\x89\":2}"));  // e-acute, both cases
    EXPECT_TRUE(refused(R"({"x":{"b":1,"B":2}})"));           // nested objects too
    // The nearest twins: different keys that no folding merges.
    EXPECT_FALSE(refused(R"({"a":1,"b":2,"ab":3})"));
    EXPECT_FALSE(refused("{\"Privileged\":1,\"Privileged\xE2\x80\x8B\":2}"));
    EXPECT_FALSE(refused(R"([{"a":1},{"a":2}])"));
}

TEST(json_parser, refuses_invalid_utf8_and_lone_surrogates) {
    for (auto const* text :
         {"\"\xFF\"", "\"\xC0\xAF\"", "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xE2\x82\"",
          "{\"\x80\":1}", R"("\ud800")", R"("\udc00")", R"("\ud800\u0041")", R"("\ud800x")"}) {
        EXPECT_TRUE(refused(text)) << text;
    }
    EXPECT_FALSE(refused("\"\xF4\x8F\xBF\xBF\"")); // U+10FFFF is valid
}

TEST(json_parser, refuses_what_is_not_exactly_one_value) {
    for (auto const* text :
         {"", " ", "{} {}", "{}x", "[1] ]", "\xEF\xBB\xBF{}", "{\"a\":1,}", "[1,]", "{'a':1}",
          "{\"a\" 1}", "[1 2]", "tru", "nul", "\"abc", "{\"a\":1"}) {
        EXPECT_TRUE(refused(text)) << text;
    }
}

TEST(json_parser, refuses_bad_numbers_and_strings) {
    for (auto const* text : {"01", "-", "1.", ".5", "1e", "+1", "0x10", "NaN", "Infinity",
                             "\"a\tb\"", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\""}) {
        EXPECT_TRUE(refused(text)) << text;
    }
    EXPECT_FALSE(refused("-0.0e-0"));
}

TEST(json_parser, enforces_limits) {
    json_limits limits;
    limits.max_depth = 4;
    EXPECT_FALSE(refused("[[[[1]]]]", limits));
    EXPECT_TRUE(refused("[[[[[1]]]]]", limits));
    EXPECT_TRUE(refused(std::string(100000, '[') + std::string(100000, ']')));
    limits = {};
    limits.max_values = 3;
    EXPECT_FALSE(refused("[1,2]", limits));
    EXPECT_TRUE(refused("[1,2,3]", limits));
    limits = {};
    limits.max_string_bytes = 8;
    EXPECT_FALSE(refused("\"12345678\"", limits));
    EXPECT_TRUE(refused("\"123456789abc\"", limits));
    EXPECT_TRUE(refused(std::string(65, '1')));
    EXPECT_FALSE(refused(std::string(64, '1')));
}

TEST(json_parser, error_names_offset_and_reason) {
    auto r = parse_json(R"({"Privileged":false,"privileged":true})");
    auto const& e = std::get<json_error>(r);
    EXPECT_EQ(e.offset, 20u);
    EXPECT_NE(e.reason.find("\"Privileged\" and \"privileged\""), std::string::npos) << e.reason;
}

TEST(json_fields, find_field_folds_and_renames_to_the_struct_name) {
    auto v = std::get<json_value>(
        parse_json(R"({"hostconfig":{"PRIVILEGED":true},"Labels":{"a":"b"}})"));
    auto* hc = find_field(v, "HostConfig");
    ASSERT_NE(hc, nullptr);
    ASSERT_NE(find_field(*hc, "Privileged"), nullptr);
    EXPECT_EQ(find_field(v, "Missing"), nullptr);
    EXPECT_EQ(find_key(v, "labels"), nullptr); // maps are case-sensitive
    set_field(v, "LABELS", json_value::make_string("x"));
    EXPECT_EQ(write_json(v), R"({"HostConfig":{"Privileged":true},"LABELS":"x"})");
}

} // namespace
} // namespace dockgate::inspect
