#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "gateway/audit/audit_log.hpp"

namespace dockgate::audit {
namespace {

TEST(format_record, is_one_json_object_with_every_field) {
    policy::identity who{"al\"ice",        {"developers", "ops"}, "tls",
                         "127.0.0.1:5000", "serial:01",           ""};
    std::vector<std::string> roles{"operator"};
    audit_record r;
    r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
    r.connection = 7;
    r.who = &who;
    r.roles = &roles;
    r.operation = "ContainerCreate";
    r.method = "POST";
    r.path = "/v1.41/containers/create?name=a\nb";
    r.decision = policy::outcome::deny;
    r.role = "operator";
    r.rule = "roles.operator.deny[0]";
    r.reason = "denied";
    r.status = 403;
    r.bytes_in = 100;
    r.bytes_out = 200;
    r.elapsed = std::chrono::microseconds(1234);
    auto const line = format_record(r);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    auto const v = boost::json::parse(line).as_object();
    EXPECT_EQ(v.at("time").as_string(), "2023-11-14T22:13:20.123Z");
    EXPECT_EQ(v.at("conn").as_int64(), 7);
    EXPECT_EQ(v.at("user").as_string(), "al\"ice");
    EXPECT_EQ(v.at("groups").as_array().size(), 2u);
    EXPECT_EQ(v.at("roles").as_array().at(0).as_string(), "operator");
    EXPECT_EQ(v.at("operation").as_string(), "ContainerCreate");
    EXPECT_EQ(v.at("path").as_string(), "/v1.41/containers/create?name=a\nb");
    EXPECT_EQ(v.at("decision").as_string(), "deny");
    EXPECT_EQ(v.at("rule").as_string(), "roles.operator.deny[0]");
    EXPECT_EQ(v.at("status").as_int64(), 403);
    EXPECT_EQ(v.at("bytes_in").as_int64(), 100);
    EXPECT_EQ(v.at("bytes_out").as_int64(), 200);
    EXPECT_DOUBLE_EQ(v.at("duration_ms").as_double(), 1.234);
    EXPECT_EQ(v.at("transport").as_string(), "tls");
    EXPECT_EQ(v.at("peer").as_string(), "127.0.0.1:5000");
    EXPECT_FALSE(v.contains("request"));
    r.request = R"({"image":"docker.io/library/alpine","cap_add":["CAP_NET_ADMIN"]})";
    auto const with = boost::json::parse(format_record(r)).as_object();
    EXPECT_EQ(with.at("request").at("cap_add").as_array().at(0).as_string(), "CAP_NET_ADMIN");
}

} // namespace
} // namespace dockgate::audit
