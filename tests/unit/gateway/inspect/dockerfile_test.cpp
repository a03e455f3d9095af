// Reading a build context the way the daemon extracts it, and the images a Dockerfile makes
// the builder pull.

#include <gtest/gtest.h>

#include "gateway/inspect/dockerfile.hpp"
#include "tests/unit/gateway/inspect/inspect_test_support.hpp"

namespace dockgate::inspect {
namespace {

using test::tar_entry;

std::string entry(std::string const& name, std::string const& data, char type = '0') {
    return tar_entry(name, data, type);
}

std::string pax(std::string const& path) {
    std::string record = " path=" + path + "\n";
    auto length = record.size() + 2; // the decimal length itself, two digits here
    std::string const full = std::to_string(length) + record;
    return entry("PaxHeader", full, 'x');
}

std::string end() {
    return test::tar_end();
}

TEST(file_from_tar, finds_the_dockerfile_as_the_daemon_extracts_it) {
    std::string error;
    auto tar =
        entry("app/main.go", "package main") + entry("./Dockerfile", "FROM busybox\n") + end();
    auto found = file_from_tar(tar, "Dockerfile", error);
    ASSERT_TRUE(found) << error;
    EXPECT_EQ(*found, "FROM busybox\n");
    // The last of two entries of one name wins, as extraction overwrites.
    tar = entry("Dockerfile", "FROM busybox\n") + entry("Dockerfile", "FROM evil.example.com/x\n") +
          end();
    found = file_from_tar(tar, "Dockerfile", error);
    ASSERT_TRUE(found);
    EXPECT_EQ(*found, "FROM evil.example.com/x\n");
    // A PAX long name, a dotted path, a custom name.
    tar = pax("sub/../build/Dockerfile.dev") + entry("ignored", "FROM a\n") + end();
    found = file_from_tar(tar, "build/Dockerfile.dev", error);
    ASSERT_TRUE(found) << error;
    EXPECT_EQ(*found, "FROM a\n");
}

TEST(file_from_tar, what_cannot_be_read_is_an_error) {
    std::string error;
    EXPECT_FALSE(file_from_tar("\x1f\x8b\x08\x00junk", "Dockerfile", error));
    EXPECT_NE(error.find("compressed"), std::string::npos);
    EXPECT_FALSE(file_from_tar(entry("other", "x") + end(), "Dockerfile", error));
    EXPECT_NE(error.find("no Dockerfile"), std::string::npos);
    auto bad = entry("Dockerfile", "FROM a\n");
    bad[148] = '9'; // checksum
    EXPECT_FALSE(file_from_tar(bad + end(), "Dockerfile", error));
    // A link named Dockerfile is not judged (the builder would follow it).
    EXPECT_FALSE(file_from_tar(entry("Dockerfile", "", '2') + end(), "Dockerfile", error));
    auto truncated = entry("Dockerfile", std::string(2000, 'x'));
    truncated.resize(700);
    EXPECT_FALSE(file_from_tar(truncated, "Dockerfile", error));
}

std::vector<std::string> images(std::string const& dockerfile,
                                std::vector<std::pair<std::string, std::string>> const& args = {}) {
    auto found = images_of_dockerfile(dockerfile, args);
    EXPECT_TRUE(found.error.empty()) << dockerfile << ": " << found.error;
    return found.images;
}

TEST(dockerfile, the_images_a_build_pulls) {
    EXPECT_EQ(images("FROM busybox:1\nRUN true\n"), std::vector<std::string>{"busybox:1"});
    EXPECT_EQ(images("from --platform=linux/amd64 golang:1.22 AS build\nFROM build\n"),
              std::vector<std::string>{"golang:1.22"});
    EXPECT_EQ(images("FROM a AS one\nFROM scratch\nCOPY --from=one /x /x\nCOPY --from=0 /y /y\n"
                     "COPY --from=evil.example.com/tools /z /z\n"),
              (std::vector<std::string>{"a", "evil.example.com/tools"}));
    EXPECT_EQ(images("FROM a\nRUN --mount=type=bind,from=evil.example.com/m,target=/m true\n"),
              (std::vector<std::string>{"a", "evil.example.com/m"}));
    // Continuations and comments, and the escape directive.
    EXPECT_EQ(images("FROM \\\n  evil.example.com/x\n"),
              std::vector<std::string>{"evil.example.com/x"});
    EXPECT_EQ(images("# escape=`\nFROM `\n  evil.example.com/y\n"),
              std::vector<std::string>{"evil.example.com/y"});
    EXPECT_EQ(images("RUN echo \\\n# a comment\nFROM evil.example.com/z\nFROM b\n"),
              std::vector<std::string>{"b"}); // the comment line joins, FROM is RUN's argument
}

TEST(dockerfile, arguments_are_substituted_where_the_builder_would) {
    EXPECT_EQ(images("ARG BASE=busybox\nFROM ${BASE}:1\n"), std::vector<std::string>{"busybox:1"});
    EXPECT_EQ(images("ARG BASE=busybox\nFROM $BASE\n", {{"BASE", "evil.example.com/x"}}),
              std::vector<std::string>{"evil.example.com/x"});
    EXPECT_EQ(images("ARG V\nFROM img:${V:-latest}\n"), std::vector<std::string>{"img:latest"});
    auto unresolved = images_of_dockerfile("FROM ${NOPE}\n", {});
    EXPECT_FALSE(unresolved.error.empty());
    auto odd = images_of_dockerfile("ARG A=x\nFROM ${A%%y}\n", {});
    EXPECT_FALSE(odd.error.empty());
    // An argument declared after the first FROM is not a global one.
    auto late = images_of_dockerfile("FROM a\nARG B=evil\nFROM $B\n", {});
    EXPECT_FALSE(late.error.empty());
}

TEST(dockerfile, the_syntax_directive_names_the_frontend) {
    auto found = images_of_dockerfile("# syntax=docker/dockerfile:1\nFROM a\n", {});
    EXPECT_EQ(found.syntax, "docker/dockerfile:1");
    found = images_of_dockerfile("#SYNTAX = evil.example.com/frontend\nFROM a\n", {});
    EXPECT_EQ(found.syntax, "evil.example.com/frontend");
    EXPECT_FALSE(images_of_dockerfile("RUN true\n", {}).error.empty()); // no FROM
}

} // namespace
} // namespace dockgate::inspect
