#include "gateway/inspect/dockerfile.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "config/constraints.hpp"

namespace dockgate::inspect {

namespace {

constexpr std::size_t block = 512;
constexpr std::size_t max_dockerfile = 1024 * 1024;

// A NUL-terminated field of a tar header.
std::string_view field(std::string_view header, std::size_t at, std::size_t length) {
    auto const f = header.substr(at, length);
    return f.substr(0, f.find('\0'));
}

// An octal number field (or base-256 when the top bit is set, as Go writes large sizes).
std::optional<std::uint64_t> number(std::string_view header, std::size_t at, std::size_t length) {
    auto const f = header.substr(at, length);
    if (!f.empty() && (static_cast<unsigned char>(f[0]) & 0x80) != 0) {
        std::uint64_t v = static_cast<unsigned char>(f[0]) & 0x7f;
        for (std::size_t i = 1; i < f.size(); ++i) {
            if (v > (UINT64_MAX >> 8))
                return std::nullopt;
            v = (v << 8) | static_cast<unsigned char>(f[i]);
        }
        return v;
    }
    std::uint64_t v = 0;
    bool digits = false;
    for (char c : f) {
        if (c == '\0' || c == ' ') {
            if (digits)
                break;
            continue;
        }
        if (c < '0' || c > '7' || v > (UINT64_MAX >> 3))
            return std::nullopt;
        v = v * 8 + static_cast<std::uint64_t>(c - '0');
        digits = true;
    }
    return v;
}

bool checksum_ok(std::string_view header) {
    auto const want = number(header, 148, 8);
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < block; ++i)
        sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
    return want && *want == sum;
}

// The path the daemon extracts a tar name to, relative to the context: cleaned, without a
// leading "/" or "./".
std::string context_path(std::string_view name) {
    std::string rooted = "/"; // appended: GCC 12 warns falsely about `"/" + name`
    rooted += name;
    auto clean = config::clean_path(rooted);
    return clean.size() > 1 ? clean.substr(1) : std::string();
}

// "path" from PAX records ("LEN key=value\n" ...); nullopt when absent, "" when malformed.
std::optional<std::string> pax_path(std::string_view records) {
    std::optional<std::string> path;
    while (!records.empty()) {
        auto const space = records.find(' ');
        if (space == std::string_view::npos)
            return std::string();
        std::size_t length = 0;
        for (char c : records.substr(0, space)) {
            if (c < '0' || c > '9')
                return std::string();
            length = length * 10 + static_cast<std::size_t>(c - '0');
        }
        if (length <= space + 1 || length > records.size() || records[length - 1] != '\n')
            return std::string();
        auto const record = records.substr(space + 1, length - space - 2);
        if (record.starts_with("path="))
            path = std::string(record.substr(5));
        records = records.substr(length);
    }
    return path;
}

bool compressed(std::string_view data) {
    auto const starts = [&](std::string_view magic) {
        return data.starts_with(magic);
    };
    return starts("\x1f\x8b") || starts("BZh") ||
           starts("\xfd"
                  "7zXZ") ||
           starts("\x28\xb5\x2f\xfd");
}

} // namespace

std::optional<std::string> file_from_tar(std::string_view tar, std::string_view name,
                                         std::string& error) {
    error.clear();
    if (compressed(tar)) {
        error = "the build context is compressed (send it uncompressed so the gateway can read "
                "its Dockerfile)";
        return std::nullopt;
    }
    std::string const wanted = context_path(name);
    std::optional<std::string> found;
    std::optional<std::string> long_name;
    std::size_t off = 0;
    while (off + block <= tar.size()) {
        auto const header = tar.substr(off, block);
        if (std::all_of(header.begin(), header.end(), [](char c) { return c == '\0'; }))
            break; // the end-of-archive block
        if (!checksum_ok(header)) {
            error = "the build context is not a tar archive the gateway can read";
            return std::nullopt;
        }
        auto const size = number(header, 124, 12);
        if (!size || *size > tar.size()) {
            error = "the build context has an entry of impossible size";
            return std::nullopt;
        }
        char const type = header[156];
        auto const data_at = off + block;
        auto const padded = (*size + block - 1) / block * block;
        if (data_at + *size > tar.size()) {
            error = "the build context ends inside an entry";
            return std::nullopt;
        }
        auto const data = tar.substr(data_at, *size);
        off = data_at + padded;
        if (type == 'x' || type == 'L') {
            auto next = type == 'x' ? pax_path(data)
                                    : std::optional<std::string>(data.substr(0, data.find('\0')));
            if (next && next->empty()) {
                error = "the build context has a malformed extended header";
                return std::nullopt;
            }
            if (next)
                long_name = std::move(next);
            continue;
        }
        if (type == 'g')
            continue;
        std::string entry;
        if (long_name) {
            entry = std::move(*long_name);
            long_name.reset();
        } else {
            auto const prefix = field(header, 345, 155);
            auto const base = field(header, 0, 100);
            bool const ustar = field(header, 257, 6).starts_with("ustar");
            entry = ustar && !prefix.empty() ? std::string(prefix) + "/" + std::string(base)
                                             : std::string(base);
        }
        if (context_path(entry) != wanted)
            continue;
        if (type != '0' && type != '\0' && type != '7') {
            // A link or a folder: the builder would follow or refuse it; not judged here.
            error = "the Dockerfile in the build context is not a regular file";
            found.reset();
            continue;
        }
        if (*size > max_dockerfile) {
            error = "the Dockerfile is larger than 1 MiB";
            return std::nullopt;
        }
        found = std::string(data);
        error.clear();
    }
    if (!found && error.empty())
        error = "the build context has no " + std::string(name);
    return found;
}

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
            ++i;
        auto const start = i;
        while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])))
            ++i;
        if (i > start)
            out.emplace_back(s.substr(start, i - start));
    }
    return out;
}

using variables = std::vector<std::pair<std::string, std::string>>;

std::optional<std::string> lookup(variables const& vars, std::string_view name) {
    for (auto it = vars.rbegin(); it != vars.rend(); ++it) {
        if (it->first == name)
            return it->second;
    }
    return std::nullopt;
}

// The builder's variable expansion for the forms a reference uses: $VAR, ${VAR}, ${VAR:-x},
// ${VAR:+x}, and "\$" for a literal '$'. nullopt for anything else (or an unset variable
// without a default), which the gateway cannot judge.
std::optional<std::string> expand(std::string_view text, variables const& vars, char escape) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char const c = text[i];
        if (c == escape && i + 1 < text.size() && text[i + 1] == '$') {
            out += '$';
            ++i;
            continue;
        }
        if (c != '$') {
            out += c;
            continue;
        }
        auto const is_name = [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
        };
        if (i + 1 < text.size() && text[i + 1] == '{') {
            auto const close = text.find('}', i + 2);
            if (close == std::string_view::npos)
                return std::nullopt;
            auto const inner = text.substr(i + 2, close - i - 2);
            auto const op = inner.find(':');
            auto const name = inner.substr(0, op);
            if (name.empty() || !std::all_of(name.begin(), name.end(), is_name))
                return std::nullopt;
            auto const value = lookup(vars, name);
            if (op == std::string_view::npos) {
                if (!value)
                    return std::nullopt;
                out += *value;
            } else if (inner.substr(op).starts_with(":-")) {
                auto word = expand(inner.substr(op + 2), vars, escape);
                if (!word)
                    return std::nullopt;
                out += value && !value->empty() ? *value : *word;
            } else if (inner.substr(op).starts_with(":+")) {
                auto word = expand(inner.substr(op + 2), vars, escape);
                if (!word)
                    return std::nullopt;
                out += value && !value->empty() ? *word : std::string();
            } else {
                return std::nullopt;
            }
            i = close;
            continue;
        }
        auto end = i + 1;
        while (end < text.size() && is_name(text[end]))
            ++end;
        auto const name = text.substr(i + 1, end - i - 1);
        auto const value = name.empty() ? std::nullopt : lookup(vars, name);
        if (!value)
            return std::nullopt;
        out += *value;
        i = end - 1;
    }
    return out;
}

// The value of flag `--name=` in `args`, or nullopt.
std::optional<std::string> flag_value(std::vector<std::string> const& args, std::string_view name) {
    for (auto const& a : args) {
        if (a.starts_with("--") && lower(a.substr(2, name.size())) == name &&
            a.size() > 2 + name.size() && a[2 + name.size()] == '=')
            return a.substr(3 + name.size());
    }
    return std::nullopt;
}

} // namespace

dockerfile_images
images_of_dockerfile(std::string_view dockerfile,
                     std::vector<std::pair<std::string, std::string>> const& build_args) {
    dockerfile_images out;
    char escape = '\\';
    // Parser directives come first, as "# key=value" comments.
    std::size_t pos = 0;
    while (pos < dockerfile.size()) {
        auto const eol = dockerfile.find('\n', pos);
        auto const line =
            trim(dockerfile.substr(pos, eol == std::string_view::npos ? eol : eol - pos));
        if (line.empty() || line.front() != '#')
            break;
        auto const body = trim(line.substr(1));
        auto const eq = body.find('=');
        if (eq == std::string_view::npos)
            break;
        auto const key = lower(trim(body.substr(0, eq)));
        auto const value = trim(body.substr(eq + 1));
        if (key == "syntax")
            out.syntax = std::string(value);
        else if (key == "escape" && (value == "`" || value == "\\"))
            escape = value.front();
        pos = eol == std::string_view::npos ? dockerfile.size() : eol + 1;
    }
    // Instructions: logical lines joined at the escape character, comments skipped.
    std::vector<std::string> instructions;
    std::string current;
    for (std::size_t at = 0; at <= dockerfile.size();) {
        auto const eol = dockerfile.find('\n', at);
        auto raw = dockerfile.substr(at, eol == std::string_view::npos ? std::string_view::npos
                                                                       : eol - at);
        at = eol == std::string_view::npos ? dockerfile.size() + 1 : eol + 1;
        auto line = trim(raw);
        if (line.starts_with('#') || (line.empty() && !current.empty()))
            continue; // comments (and blank lines inside a continuation) are dropped
        if (!line.empty() && line.back() == escape) {
            current += std::string(line.substr(0, line.size() - 1)) + " ";
            continue;
        }
        current += std::string(line);
        if (!trim(current).empty())
            instructions.push_back(std::move(current));
        current.clear();
    }
    if (!trim(current).empty())
        instructions.push_back(std::move(current));

    variables globals; // ARGs before the first FROM, then the build arguments over them
    std::vector<std::string> stages;
    bool seen_from = false;
    auto const judge_ref = [&](std::string_view text, std::string_view what) {
        auto expanded = expand(text, globals, escape);
        if (!expanded || expanded->empty()) {
            out.error = std::string(what) + " \"" + std::string(text).substr(0, 100) +
                        "\" uses a variable the gateway cannot resolve";
            return;
        }
        auto const name = lower(*expanded);
        if (name == "scratch" || std::find(stages.begin(), stages.end(), name) != stages.end() ||
            std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return; // no image, a previous stage, or a stage by index
        out.images.push_back(*expanded);
    };
    for (auto const& instruction : instructions) {
        if (!out.error.empty())
            break;
        auto const args = words(instruction);
        if (args.empty())
            continue;
        auto const keyword = lower(args.front());
        std::vector<std::string> const rest(args.begin() + 1, args.end());
        if (keyword == "arg" && !seen_from) {
            for (auto const& a : rest) {
                auto const eq = a.find('=');
                auto const name = a.substr(0, eq);
                std::string value = eq == std::string::npos ? "" : a.substr(eq + 1);
                if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
                    value.back() == value.front())
                    value = value.substr(1, value.size() - 2);
                globals.emplace_back(name, value);
            }
            for (auto const& arg : build_args) {
                if (std::any_of(rest.begin(), rest.end(), [&](auto const& a) {
                        return a.substr(0, a.find('=')) == arg.first;
                    }))
                    globals.push_back(arg);
            }
        } else if (keyword == "from") {
            seen_from = true;
            std::size_t i = 0;
            while (i < rest.size() && rest[i].starts_with("--"))
                ++i;
            if (i >= rest.size()) {
                out.error = "a FROM without an image";
                break;
            }
            judge_ref(rest[i], "FROM");
            if (i + 2 < rest.size() && lower(rest[i + 1]) == "as")
                stages.push_back(lower(rest[i + 2]));
        } else if (keyword == "copy") {
            if (auto from = flag_value(rest, "from"))
                judge_ref(*from, "COPY --from");
        } else if (keyword == "run") {
            for (auto const& a : rest) {
                if (!a.starts_with("--"))
                    break;
                if (!lower(a).starts_with("--mount="))
                    continue;
                std::string_view options = std::string_view(a).substr(8);
                while (!options.empty()) {
                    auto const comma = options.find(',');
                    auto const item = options.substr(0, comma);
                    if (lower(item.substr(0, 5)) == "from=")
                        judge_ref(item.substr(5), "RUN --mount from");
                    if (comma == std::string_view::npos)
                        break;
                    options = options.substr(comma + 1);
                }
            }
        }
    }
    if (!seen_from && out.error.empty())
        out.error = "the Dockerfile has no FROM";
    return out;
}

} // namespace dockgate::inspect
