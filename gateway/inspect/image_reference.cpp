#include "gateway/inspect/image_reference.hpp"

#include <algorithm>

namespace dockgate::inspect {

namespace {

bool all_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// [\w][\w.-]{0,127}
bool valid_tag(std::string_view t) {
    if (t.empty() || t.size() > 128 || !word_char(t.front()))
        return false;
    return std::all_of(t.begin(), t.end(),
                       [](char c) { return word_char(c) || c == '.' || c == '-'; });
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return out;
}

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
    if (text.size() == 64 && all_hex(text))
        return image_id{"sha256:" + std::string(text)};
    if (is_digest(text))
        return image_id{std::string(text)};
    if (text.empty())
        return std::string("empty image name");

    // splitDockerDomain: the first component is a registry host when it has '.' or ':', is
    // "localhost", or has upper-case letters (repository names cannot).
    image_reference ref;
    std::string_view remainder = text;
    auto const slash = text.find('/');
    if (slash != std::string_view::npos) {
        auto const first = text.substr(0, slash);
        bool const host = first.find_first_of(".:") != std::string_view::npos ||
                          first == "localhost" || lower(first) != first;
        if (host) {
            if (!config::valid_registry_host(first))
                return "\"" + std::string(first) + "\" is not a registry host";
            ref.domain = std::string(first);
            remainder = text.substr(slash + 1);
        }
    }
    // The daemon compares hosts as written: only these spellings get Docker Hub's "library/".
    bool const hub =
        ref.domain.empty() || ref.domain == "docker.io" || ref.domain == "index.docker.io";
    ref.domain = lower(ref.domain);
    if (ref.domain.empty() || ref.domain == "index.docker.io")
        ref.domain = "docker.io";

    if (auto const at = remainder.find('@'); at != std::string_view::npos) {
        ref.digest = std::string(remainder.substr(at + 1));
        remainder = remainder.substr(0, at);
        if (!is_digest(ref.digest))
            return "\"" + ref.digest + "\" is not a digest (write sha256:<64 hex digits>)";
    }
    auto const last_slash = remainder.rfind('/');
    if (auto const colon = remainder.rfind(':');
        colon != std::string_view::npos &&
        (last_slash == std::string_view::npos || colon > last_slash)) {
        ref.tag = std::string(remainder.substr(colon + 1));
        remainder = remainder.substr(0, colon);
        if (!valid_tag(ref.tag))
            return "\"" + ref.tag + "\" is not a tag";
    }
    if (remainder.empty())
        return std::string("no repository name");
    for (std::size_t start = 0;;) {
        auto const next = remainder.find('/', start);
        auto const component = remainder.substr(
            start, next == std::string_view::npos ? std::string_view::npos : next - start);
        if (!config::valid_repository_component(component))
            return "\"" + std::string(component) +
                   "\" is not a repository name component (lower-case letters, digits, . _ -)";
        if (next == std::string_view::npos)
            break;
        start = next + 1;
    }
    if (ref.domain.size() + 1 + remainder.size() > 255)
        return std::string("repository name longer than 255 characters");
    ref.path = std::string(remainder);
    if (hub && ref.path.find('/') == std::string::npos) {
        ref.may_be_image_id = slash == std::string_view::npos && ref.tag.empty() &&
                              ref.digest.empty() && all_hex(ref.path);
        ref.path = "library/" + ref.path;
    }
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
