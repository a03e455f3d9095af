// Any byte string as an image reference: parse_image_reference must agree with a second reading
// built here from distribution/reference's own regular expressions, for both daemon versions the
// gateway fronts:
// - v2.8.1: github.com/docker/distribution v2.8.1 reference/ (moby v20.10.24),
// - v0.6.0: github.com/distribution/reference v0.6.0 (moby master),
// with their Go code (splitDockerDomain, ParseNormalizedNamed, Parse, ParseAnyReference, go-digest
// v1.0.0 Validate) transcribed line by line. The gateway must refuse where the versions disagree,
// refuse what its own stricter rules refuse (an upper-case host, no host, a port outside 1-65535),
// and otherwise return exactly the daemon's domain, path, tag and digest. On top: what it accepts
// prints (str()) to a text that reads back the same, and stays within the daemon's limits.
//
// The regular expressions use ECMAScript syntax and libstdc++'s non-backtracking executor
// (regex_constants::__polynomial, a Thompson NFA with leftmost-first submatches, as Go's RE2):
// the default backtracking executor takes 2^n steps on v2.8.1's separator [-]* ("aaaa...a!"),
// where Go takes n. For v0.6.0, whose expressions do not backtrack exponentially, each input is
// also read with the backtracking executor, and the two readings must agree.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <regex>
#include <span>
#include <string>
#include <string_view>

#include "gateway/inspect/image_reference.hpp"

namespace {

using dockgate::inspect::image_id;
using dockgate::inspect::image_reference;
using dockgate::inspect::parse_image_reference;

// Go's regexp helpers, as strings (v2.8.1 regexp.go:93-143, v0.6.0 regexp.go:143-163).
std::string join(std::initializer_list<std::string> parts) {
    std::string out;
    for (auto const& p : parts)
        out += p;
    return out;
}
std::string optional(std::initializer_list<std::string> p) {
    return "(?:" + join(p) + ")?";
}
std::string repeated(std::initializer_list<std::string> p) {
    return "(?:" + join(p) + ")+";
}
std::string any_times(std::initializer_list<std::string> p) {
    return "(?:" + join(p) + ")*";
}
std::string capture(std::initializer_list<std::string> p) {
    return "(" + join(p) + ")";
}
std::string anchored(std::initializer_list<std::string> p) {
    return "^" + join(p) + "$";
}

constexpr auto linear = std::regex::ECMAScript | std::regex_constants::__polynomial;

struct grammar {
    bool v281; // else v0.6.0
    std::regex reference, anchored_name, anchored_identifier;
};

grammar make_v281() { // v2.8.1 regexp.go:8-84
    std::string const alpha_numeric = "[a-z0-9]+";
    std::string const separator = "(?:[._]|__|[-]*)";
    std::string const name_component =
        join({alpha_numeric, optional({repeated({separator, alpha_numeric})})});
    std::string const domain_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    std::string const domain =
        join({domain_component, optional({repeated({"\\.", domain_component})}),
              optional({":", "[0-9]+"})});
    std::string const tag = R"([\w][\w.-]{0,127})";
    std::string const digest =
        "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}";
    std::string const name = join(
        {optional({domain, "/"}), name_component, optional({repeated({"/", name_component})})});
    std::string const anchored_name =
        anchored({optional({capture({domain}), "/"}),
                  capture({name_component, optional({repeated({"/", name_component})})})});
    std::string const reference = anchored(
        {capture({name}), optional({":", capture({tag})}), optional({"@", capture({digest})})});
    return {true, std::regex(reference, linear), std::regex(anchored_name, linear),
            std::regex(anchored({"([a-f0-9]{64})"}), linear)};
}

grammar make_v060(std::regex::flag_type flags) { // v0.6.0 regexp.go:41-140
    std::string const alphanumeric = "[a-z0-9]+";
    std::string const separator = "(?:[._]|__|[-]+)";
    std::string const domain_name_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    std::string const optional_port = "(?::[0-9]+)?";
    std::string const tag = R"([\w][\w.-]{0,127})";
    std::string const digest_pat =
        "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}";
    std::string const identifier = "([a-f0-9]{64})";
    std::string const ipv6address = R"(\[(?:[a-fA-F0-9:]+)\])";
    std::string const domain_name =
        domain_name_component + any_times({"\\.", domain_name_component});
    std::string const host = "(?:" + domain_name + "|" + ipv6address + ")";
    std::string const domain_and_port = host + optional_port;
    std::string const path_component = alphanumeric + any_times({separator, alphanumeric});
    std::string const remote_name = path_component + any_times({"/", path_component});
    std::string const name_pat = optional({domain_and_port + "/"}) + remote_name;
    std::string const anchored_name =
        anchored({optional({capture({domain_and_port}), "/"}), capture({remote_name})});
    std::string const reference_pat =
        anchored({capture({name_pat}), optional({":", capture({tag})}),
                  optional({"@", capture({digest_pat})})});
    return {false, std::regex(reference_pat, flags), std::regex(anchored_name, flags),
            std::regex(anchored({identifier}), flags)};
}

grammar const& v281() {
    static grammar const g = make_v281();
    return g;
}
grammar const& v060() {
    static grammar const g = make_v060(linear);
    return g;
}
grammar const& v060_backtracking() {
    static grammar const g = make_v060(std::regex::ECMAScript);
    return g;
}

struct reading {
    enum kind_t { refused, content_id, named } kind = refused;
    std::string id, domain, path, tag, digest;
    bool operator==(reading const&) const = default;
    std::string text() const {
        if (kind == refused)
            return "error";
        if (kind == content_id)
            return "id " + id;
        return "domain=" + domain + " path=" + path + " tag=" + tag + " digest=" + digest;
    }
};

reading content(std::string id) {
    reading r;
    r.kind = reading::content_id;
    r.id = std::move(id);
    return r;
}

bool matches(std::string const& s, std::regex const& re) {
    return std::regex_match(s, re);
}

// go-digest v1.0.0 Digest.Validate (digest.go:103-117) with Algorithm.Validate
// (algorithm.go:50-62,179-193): the registered algorithms and their anchored hex expressions.
bool digest_validates(std::string const& s) {
    static std::regex const sha256("^[a-f0-9]{64}$", linear);
    static std::regex const sha384("^[a-f0-9]{96}$", linear);
    static std::regex const sha512("^[a-f0-9]{128}$", linear);
    auto const i = s.find(':');
    if (i == std::string::npos || i == 0 || i + 1 == s.size())
        return false;
    auto const algorithm = s.substr(0, i);
    auto const encoded = s.substr(i + 1);
    if (algorithm == "sha256")
        return encoded.size() == 64 && matches(encoded, sha256);
    if (algorithm == "sha384")
        return encoded.size() == 96 && matches(encoded, sha384);
    if (algorithm == "sha512")
        return encoded.size() == 128 && matches(encoded, sha512);
    return false; // unavailable: ErrDigestInvalidFormat or ErrDigestUnsupported
}

// strings.ToLower and ContainsAny on ASCII; a byte >= 0x80 fails every expression anyway.
std::string to_lower(std::string s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// splitDockerDomain: v2.8.1 normalize.go:91-105, v0.6.0 normalize.go:126-171.
std::pair<std::string, std::string> split_docker_domain(grammar const& g, std::string const& name) {
    std::string domain, remainder;
    auto const i = name.find('/');
    if (g.v281) {
        if (i == std::string::npos || (name.substr(0, i).find_first_of(".:") == std::string::npos &&
                                       name.substr(0, i) != "localhost"))
            domain = "docker.io", remainder = name;
        else
            domain = name.substr(0, i), remainder = name.substr(i + 1);
        if (domain == "index.docker.io")
            domain = "docker.io";
    } else {
        if (i == std::string::npos)
            return {"docker.io", "library/" + name};
        auto const maybe_domain = name.substr(0, i);
        auto const maybe_remainder = name.substr(i + 1);
        if (maybe_domain == "localhost")
            domain = maybe_domain, remainder = maybe_remainder;
        else if (maybe_domain == "index.docker.io")
            domain = "docker.io", remainder = maybe_remainder;
        else if (maybe_domain.find_first_of(".:") != std::string::npos)
            domain = maybe_domain, remainder = maybe_remainder;
        else if (to_lower(maybe_domain) != maybe_domain)
            domain = maybe_domain, remainder = maybe_remainder;
        else
            domain = "docker.io", remainder = name;
    }
    if (domain == "docker.io" && remainder.find('/') == std::string::npos)
        remainder = "library/" + remainder;
    return {domain, remainder};
}

// Parse: v2.8.1 reference.go:189-234, v0.6.0 reference.go:186-231.
reading parse(grammar const& g, std::string const& s) {
    std::smatch m;
    if (!std::regex_match(s, m, g.reference))
        return {};
    std::string const name = m[1].str();
    if (g.v281 && name.size() > 255)
        return {};
    std::smatch n;
    reading r{reading::named, "", "", "", m[2].str(), m[3].str()};
    if (std::regex_match(name, n, g.anchored_name))
        r.domain = n[1].str(), r.path = n[2].str();
    else
        r.path = name;
    if (!g.v281 && r.path.size() > 255)
        return {};
    if (!r.digest.empty() && !digest_validates(r.digest))
        return {};
    return r;
}

// ParseNormalizedNamed (v2.8.1 normalize.go:33-57, v0.6.0 normalize.go:56-80) behind
// ParseAnyReference (v2.8.1 normalize.go:173-182, v0.6.0 normalize.go:246-255).
reading parse_any_reference(grammar const& g, std::string const& s) {
    if (matches(s, g.anchored_identifier))
        return content("sha256:" + s);
    if (digest_validates(s))
        return content(s);
    auto const [domain, remainder] = split_docker_domain(g, s);
    auto const remote = remainder.substr(0, remainder.find(':'));
    if (to_lower(remote) != remote)
        return {};
    return parse(g, domain + "/" + remainder);
}

std::string printable(std::string const& s) {
    std::string out;
    for (unsigned char c : s) {
        char hex[5];
        std::snprintf(hex, sizeof hex, "\\x%02x", c);
        out += c >= 0x20 && c < 0x7f && c != '\\' ? std::string(1, static_cast<char>(c)) : hex;
    }
    return out;
}

[[noreturn]] void fail(std::string const& input, std::string const& what, std::string const& got,
                       std::string const& want) {
    std::fprintf(stderr, "input \"%s\": %s\n  gateway: %s\n  want:    %s\n",
                 printable(input).c_str(), what.c_str(), printable(got).c_str(),
                 printable(want).c_str());
    std::abort();
}

// What the gateway must answer.
reading expected(std::string const& s) {
    auto const old_daemon = parse_any_reference(v281(), s);
    auto const new_daemon = parse_any_reference(v060(), s);
    // A check on this oracle rather than on the gateway: both executors read v0.6.0 alike.
    if (!(parse_any_reference(v060_backtracking(), s) == new_daemon))
        fail(s, "std::regex executors disagree on v0.6.0", new_daemon.text(), "");
    if (!(old_daemon == new_daemon))
        return {}; // the daemon versions disagree: refuse
    if (old_daemon.kind != reading::named)
        return old_daemon;
    static std::regex const upper("[A-Z]", linear);
    static std::regex const port("[^:]*:([0-9]{1,5})", linear);
    auto const& domain = old_daemon.domain;
    if (domain.empty() || std::regex_search(domain, upper))
        return {};
    std::smatch p;
    if (domain.find(':') != std::string::npos &&
        (!std::regex_match(domain, p, port) || std::stoul(p[1].str()) == 0 ||
         std::stoul(p[1].str()) > 65535))
        return {};
    return old_daemon;
}

reading gateway(std::string_view s, bool* may_be_image_id = nullptr) {
    auto const r = parse_image_reference(s);
    if (auto const* id = std::get_if<image_id>(&r))
        return content(id->id);
    auto const* ref = std::get_if<image_reference>(&r);
    if (ref == nullptr)
        return {};
    if (may_be_image_id != nullptr)
        *may_be_image_id = ref->may_be_image_id;
    return {reading::named, "", ref->domain, ref->path, ref->tag, ref->digest};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string const input(reinterpret_cast<char const*>(data), size);
    bool may_be_image_id = false;
    auto const got = gateway(input, &may_be_image_id);

    // v2.8.1 counts the host in its 255: with "index.docker.io/library/" written out, a ":" and
    // 128-character tag and an "@sha512:" digest, nothing longer than 526 can be accepted.
    if (size > 600) {
        if (got.kind != reading::refused)
            fail(input, "a long text is accepted", got.text(), "error");
        return 0;
    }

    auto const want = expected(input);
    if (!(got == want))
        fail(input, "differs from the daemon's grammar", got.text(), want.text());
    if (got.kind != reading::named)
        return 0;

    static std::regex const id_prefix("(sha256:)?[a-f0-9]+", linear);
    if (may_be_image_id != matches(input, id_prefix))
        fail(input, "may_be_image_id", may_be_image_id ? "true" : "false", "");
    if (got.domain.size() + 1 + got.path.size() > 255)
        fail(input, "name longer than 255", got.text(), "");
    if (got.domain == "docker.io" && got.path.find('/') == std::string::npos)
        fail(input, "Docker Hub name without a namespace", got.text(), "");

    // str() names the same image; a name with neither tag nor digest reads as ":latest".
    auto const ref = std::get<image_reference>(parse_image_reference(input));
    auto const again = gateway(ref.str());
    auto same = got;
    if (same.tag.empty() && same.digest.empty())
        same.tag = "latest";
    if (!(again == same))
        fail(input, "str() " + ref.str() + " reads differently", again.text(), same.text());

    // A registry scope can name it, and then holds it.
    std::string why;
    auto const scope = dockgate::config::parse_registry_scope(got.domain + "/" + got.path, why);
    if (!scope || !dockgate::inspect::reference_in_scopes(ref, std::span(&*scope, 1)))
        fail(input, "not within the scope " + got.domain + "/" + got.path, why, "");
    return 0;
}
