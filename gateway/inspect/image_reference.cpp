#include "gateway/inspect/image_reference.hpp"

#include <algorithm>

// The daemon's reading, from two versions of distribution/reference (both read here; file:line):
// - "v2.8.1": github.com/docker/distribution v2.8.1 reference/, vendored by moby v20.10.24.
// - "v0.6.0": github.com/distribution/reference v0.6.0, vendored by moby master.
// ParseAnyReference (v2.8.1 normalize.go:173-182, v0.6.0 normalize.go:246-255):
//   ^[a-f0-9]{64}$ is the ID sha256:<hex>; a string digest.Parse accepts is that digest;
//   anything else is ParseNormalizedNamed.
// ParseNormalizedNamed (v2.8.1 normalize.go:33-57, v0.6.0 normalize.go:56-80):
//   splitDockerDomain, a lower-case check of the text before the tag, then
//   Parse(domain + "/" + remainder) against
//     reference        := name [ ":" tag ] [ "@" digest ]
//     name             := [domain "/"] path-component ("/" path-component)*
//     domain           := domain-component ("." domain-component)* [":" [0-9]+]
//     domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//     path-component   := [a-z0-9]+ (separator [a-z0-9]+)*
//     separator        := [._] | __ | [-]+        (v2.8.1: [-]*, which accepts the same names)
//     tag              := [\w][\w.-]{0,127}
//     digest           := go-digest: sha256/sha384/sha512 ":" lower-case hex of 64/96/128
//   (v2.8.1 regexp.go:8-70, v0.6.0 regexp.go:44-136; go-digest v1.0.0 digest.go:103-117,
//   algorithm.go:50-62,179-193).
// Where the two versions read a name differently, the gateway refuses it rather than pick one:
// - v0.6.0 also takes a first component with an upper-case letter for a registry host
//   (normalize.go:152-155); v2.8.1 refuses the name as not lower case.
// - v0.6.0 also accepts a bracketed IPv6 host, \[[a-fA-F0-9:]+\] (regexp.go:91,106); v2.8.1 does
//   not.
// - v2.8.1 limits the whole name ("docker.io/library/...") to 255 characters
//   (reference.go:201); v0.6.0 only the path (reference.go:209).
// Both versions match hosts case-sensitively: "DOCKER.IO/x" is not Docker Hub but a registry
// spelled "DOCKER.IO", which DNS resolves to docker.io. The gateway refuses upper-case hosts so
// that a host is never judged by a spelling other than the daemon's.

namespace dockgate::inspect {

namespace {

// Go's regexp classes here are ASCII; any other byte fails them all.
bool lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool alnum(char c) {
    return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool word_char(char c) { // \w
    return alnum(c) || c == '_';
}

bool digit(char c) {
    return c >= '0' && c <= '9';
}

bool all_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return digit(c) || (c >= 'a' && c <= 'f'); });
}

bool has_upper(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// path-component := [a-z0-9]+ ((?:[._]|__|[-]+)[a-z0-9]+)*
bool valid_path_component(std::string_view s) {
    if (s.empty() || !lower_alnum(s.front()))
        return false;
    for (std::size_t i = 1; i < s.size();) {
        if (lower_alnum(s[i])) {
            ++i;
            continue;
        }
        std::size_t next = i + 1; // past "." or "_"
        if (s[i] == '_' && next < s.size() && s[next] == '_')
            ++next; // "__"
        else if (s[i] == '-')
            next = s.find_first_not_of('-', i);
        else if (s[i] != '.' && s[i] != '_')
            return false;
        if (next >= s.size() || !lower_alnum(s[next]))
            return false; // a separator sits between alphanumerics
        i = next;
    }
    return true;
}

// path := path-component ("/" path-component)*
bool valid_path(std::string_view s) {
    for (std::size_t start = 0;;) {
        auto const slash = s.find('/', start);
        if (!valid_path_component(s.substr(start, slash - start)))
            return false;
        if (slash == std::string_view::npos)
            return true;
        start = slash + 1;
    }
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool valid_domain_component(std::string_view s) {
    return !s.empty() && alnum(s.front()) && alnum(s.back()) &&
           std::all_of(s.begin(), s.end(), [](char c) { return alnum(c) || c == '-'; });
}

// domain := domain-component ("." domain-component)* [":" [0-9]+]   (v2.8.1: no IPv6)
bool valid_domain(std::string_view s) {
    auto const colon = s.find(':');
    if (colon != std::string_view::npos) {
        auto const port = s.substr(colon + 1);
        if (port.empty() || !std::all_of(port.begin(), port.end(), digit))
            return false;
        s = s.substr(0, colon);
    }
    for (std::size_t start = 0;;) {
        auto const dot = s.find('.', start);
        if (!valid_domain_component(s.substr(start, dot - start)))
            return false;
        if (dot == std::string_view::npos)
            return true;
        start = dot + 1;
    }
}

// The gateway's own rule, as for a registry scope (config::valid_registry_host): a port is a TCP
// port, 1-65535. The daemon takes any digits; such a name could never be in a scope anyway.
bool valid_port(std::string_view domain) {
    auto const colon = domain.find(':');
    if (colon == std::string_view::npos)
        return true;
    auto const port = domain.substr(colon + 1);
    if (port.size() > 5)
        return false;
    unsigned long value = 0;
    for (char c : port)
        value = value * 10 + static_cast<unsigned long>(c - '0');
    return value >= 1 && value <= 65535;
}

// tag := [\w][\w.-]{0,127}
bool valid_tag(std::string_view t) {
    return !t.empty() && t.size() <= 128 && word_char(t.front()) &&
           std::all_of(t.begin(), t.end(),
                       [](char c) { return word_char(c) || c == '.' || c == '-'; });
}

// The daemon looks a name up as a tag first, then as an image ID prefix on the raw text: the
// graphdriver store by digestset prefix, "abc" or "sha256:abc" (moby v20.10.24
// daemon/images/image.go:210-216, digestset/set.go:69-108); the containerd store by
// ^(sha256:)?[a-f0-9]{4,64}$ (moby master daemon/containerd/image.go:400-411).
bool may_be_id_prefix(std::string_view text) {
    if (text.starts_with("sha256:"))
        text.remove_prefix(7);
    return !text.empty() && all_hex(text);
}

std::string quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    out += s;
    out += '"';
    return out;
}

constexpr std::size_t name_length_max = 255; // v2.8.1 reference.go:37,201

} // namespace

bool is_digest(std::string_view text) noexcept {
    auto const colon = text.find(':');
    if (colon == std::string_view::npos)
        return false;
    auto const algorithm = text.substr(0, colon);
    auto const hex = text.substr(colon + 1);
    std::size_t const want = algorithm == "sha256"   ? 64
                             : algorithm == "sha384" ? 96
                             : algorithm == "sha512" ? 128
                                                     : 0;
    return want != 0 && hex.size() == want && all_hex(hex);
}

std::string image_reference::str() const {
    std::string out = domain + "/" + path;
    if (!tag.empty())
        out += ":" + tag;
    else if (digest.empty())
        out += ":latest";
    if (!digest.empty())
        out += "@" + digest;
    return out;
}

std::variant<image_reference, image_id, std::string> parse_image_reference(std::string_view text) {
    // ParseAnyReference: an ID or a digest names no repository.
    if (text.size() == 64 && all_hex(text))
        return image_id{"sha256:" + std::string(text)};
    if (is_digest(text))
        return image_id{std::string(text)};
    if (text.empty())
        return std::string("empty image name");

    // splitDockerDomain (v2.8.1 normalize.go:91-105, v0.6.0 normalize.go:126-171): the first of
    // two or more components is a registry host when it has '.' or ':' or is "localhost".
    image_reference ref;
    std::string_view remainder = text;
    auto const slash = text.find('/');
    if (slash != std::string_view::npos) {
        auto const first = text.substr(0, slash);
        if (first == "localhost" || first.find_first_of(".:") != std::string_view::npos) {
            ref.domain = std::string(first);
            remainder = text.substr(slash + 1);
        } else if (has_upper(first)) {
            return quote(first) +
                   " is read as a registry host by newer daemons and refused by older ones "
                   "(registry hosts and repository names are lower case)";
        }
    }
    if (ref.domain.empty() || ref.domain == "index.docker.io")
        ref.domain = "docker.io";
    if (has_upper(ref.domain))
        return "registry host " + quote(ref.domain) +
               " has upper-case letters: the daemon does not read it as the lower-case host "
               "(write it in lower case)";
    if (ref.domain.front() == '[')
        return "registry host " + quote(ref.domain) +
               " is not a host name (v20.10 daemons refuse IPv6 addresses; use a host name)";
    if (!valid_domain(ref.domain)) {
        // Parse would read such a first component (e.g. "foo_bar.com") as a path component of a
        // name with no registry host at all.
        return quote(ref.domain) + " is not a registry host (letters, digits and '-' in labels "
                                   "joined by '.', and an optional :PORT)";
    }
    if (!valid_port(ref.domain))
        return "registry host " + quote(ref.domain) + " has no valid port (1-65535)";

    // Parse: name [":" tag] ["@" digest]. Past the host, neither the path nor the tag has '@',
    // and the path has no ':'.
    if (auto const at = remainder.find('@'); at != std::string_view::npos) {
        ref.digest = std::string(remainder.substr(at + 1));
        remainder = remainder.substr(0, at);
        if (!is_digest(ref.digest))
            return quote(ref.digest) +
                   " is not a digest (write sha256: and 64 lower-case hex digits)";
    }
    if (auto const colon = remainder.find(':'); colon != std::string_view::npos) {
        ref.tag = std::string(remainder.substr(colon + 1));
        remainder = remainder.substr(0, colon);
        if (!valid_tag(ref.tag))
            return quote(ref.tag) + " is not a tag (up to 128 letters, digits, '_', '.' and '-', "
                                    "not starting with '.' or '-')";
    }
    if (remainder.empty())
        return std::string("no repository name");
    if (!valid_path(remainder))
        return quote(remainder) +
               " is not a repository name (lower-case letters and digits, joined by '.', '_', "
               "\"__\" or dashes, in components separated by '/')";

    // "docker.io/x" is Docker Hub's official "library/x".
    ref.path = ref.domain == "docker.io" && remainder.find('/') == std::string_view::npos
                   ? "library/" + std::string(remainder)
                   : std::string(remainder);
    if (ref.domain.size() + 1 + ref.path.size() > name_length_max)
        return quote(ref.domain + "/" + ref.path) + " is longer than 255 characters";
    ref.may_be_image_id = may_be_id_prefix(text);
    return ref;
}

bool reference_in_scopes(image_reference const& ref,
                         std::span<config::registry_scope const> scopes) {
    return std::any_of(scopes.begin(), scopes.end(), [&](config::registry_scope const& s) {
        if (s.domain != ref.domain)
            return false;
        return s.path.empty() || config::path_within("/" + ref.path, "/" + s.path);
    });
}

} // namespace dockgate::inspect
