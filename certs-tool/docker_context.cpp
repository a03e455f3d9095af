#include "certs-tool/docker_context.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

#include <boost/json.hpp>

namespace dockgate::certs {

namespace {

constexpr std::size_t block = 512;

// One ustar header. Names here are short constants, so the 100-byte name field suffices.
void append_header(std::string& out, std::string_view name, char type, unsigned mode,
                   std::size_t size, long mtime) {
    char h[block] = {};
    auto put_octal = [&](std::size_t offset, std::size_t width, unsigned long long value) {
        (void)std::snprintf(h + offset, width, "%0*llo", static_cast<int>(width - 1), value);
    };
    std::memcpy(h, name.data(), std::min(name.size(), std::size_t{99}));
    put_octal(100, 8, mode);
    put_octal(108, 8, 0); // uid
    put_octal(116, 8, 0); // gid
    put_octal(124, 12, size);
    put_octal(136, 12, static_cast<unsigned long long>(mtime));
    h[156] = type;
    std::memcpy(h + 257, "ustar", 6); // magic "ustar\0"
    // NOLINTNEXTLINE(bugprone-not-null-terminated-result): the version field has no NUL
    std::memcpy(h + 263, "00", 2); // version
    // The checksum is computed with its own field read as eight spaces.
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char const c : h)
        sum += c;
    (void)std::snprintf(h + 148, 8, "%06o", sum); // six digits, NUL, then the space already there
    h[155] = ' ';
    out.append(h, block);
}

void append_file(std::string& out, std::string_view name, unsigned mode, std::string_view data,
                 long mtime) {
    append_header(out, name, '0', mode, data.size(), mtime);
    out.append(data);
    out.append((block - data.size() % block) % block, '\0');
}

} // namespace

std::string check_context_name(std::string_view name) {
    if (name.empty())
        return "is empty";
    if (name == "default")
        return "\"default\" is reserved by the docker CLI";
    if (name.size() < 2)
        return "must be at least two characters long";
    if (!std::isalnum(static_cast<unsigned char>(name.front())))
        return "must start with a letter or digit";
    for (char const c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '+' &&
            c != '-')
            return "may hold only letters, digits, '_', '.', '+' and '-'";
    if (name.size() > 64)
        return "is longer than 64 characters";
    return {};
}

std::string check_context_host(std::string_view host) {
    constexpr std::string_view scheme = "tcp://";
    if (!host.starts_with(scheme) || host.size() == scheme.size())
        return "must look like tcp://HOST:PORT (the gateway's TLS address)";
    for (char const c : host)
        if (std::isspace(static_cast<unsigned char>(c)) ||
            std::iscntrl(static_cast<unsigned char>(c)))
            return "must not contain spaces or control characters";
    auto const rest = host.substr(scheme.size());
    if (rest.find('/') != std::string_view::npos)
        return "must not have a path after HOST:PORT";
    return {};
}

std::string docker_context_archive(docker_context_files const& files,
                                   std::chrono::system_clock::time_point mtime) {
    namespace json = boost::json;
    json::object meta;
    meta["Name"] = files.name;
    meta["Metadata"] = json::object{{"Description", files.description}};
    meta["Endpoints"] =
        json::object{{"docker", json::object{{"Host", files.host}, {"SkipTLSVerify", false}}}};
    std::string const meta_json = json::serialize(meta);
    long const t = static_cast<long>(std::chrono::system_clock::to_time_t(mtime));

    std::string out;
    append_file(out, "meta.json", 0644, meta_json, t);
    append_header(out, "tls/", '5', 0700, 0, t);
    append_header(out, "tls/docker/", '5', 0700, 0, t);
    append_file(out, "tls/docker/ca.pem", 0600, files.ca_pem, t);
    append_file(out, "tls/docker/cert.pem", 0600, files.cert_pem, t);
    append_file(out, "tls/docker/key.pem", 0600, files.key_pem, t);
    out.append(2 * block, '\0'); // end of archive
    return out;
}

} // namespace dockgate::certs
