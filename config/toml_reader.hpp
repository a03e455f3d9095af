#pragma once
// Internal to the config library: a TOML walker that collects every problem with its key path,
// line and fix, so that one `check-config` run shows all of them. Used by load_config.cpp and
// by the per-role constraint sections.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "common/duration.hpp"

namespace dockgate::config::detail {

inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t const up = row[j];
            row[j] =
                std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1u : 0u)});
            diag = up;
        }
    }
    return row[b.size()];
}

/// A table key as it is written in a key path: bare when TOML allows it (`alice`, `ci-runners`),
/// quoted otherwise (`"spiffe://example.org/ci"`), so that messages name a path that can be
/// pasted back into the file.
inline std::string key_text(std::string_view key) {
    bool const bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
    if (bare)
        return std::string(key);
    // Control characters are left to the message formatter, which shows them escaped.
    std::string out = "\"";
    for (char c : key) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + '"';
}

inline char const* type_name(toml::node const& n) {
    switch (n.type()) {
    case toml::node_type::table:
        return "a table";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a float";
    case toml::node_type::boolean:
        return "a boolean";
    default:
        return "a date/time";
    }
}

/// "host:port" or "[v6]:port" split in two; nullopt when the port is missing or not 0..65535.
std::optional<std::pair<std::string, std::uint16_t>> split_address(std::string const& a);

// Walks the document, collecting every problem with its key path and line instead of stopping
// at the first, so one `check-config` run shows all of them.
class reader {
public:
    reader(std::string name, std::filesystem::path base)
        : name_(std::move(name))
        , base_(std::move(base)) {}

    void problem(toml::node const* at, std::string const& path, std::string const& what) {
        std::ostringstream out;
        out << name_;
        if (at != nullptr && at->source().begin.line > 0)
            out << ':' << at->source().begin.line;
        out << ": " << path << ": " << what;
        problems_.push_back(out.str());
    }

    // Rejects keys that are not in `known`, suggesting the closest known one.
    void only_keys(toml::table const& t, std::string const& path,
                   std::initializer_list<std::string_view> known) {
        for (auto const& [key, node] : t) {
            std::string_view const k = key.str();
            if (std::find(known.begin(), known.end(), k) != known.end())
                continue;
            std::string hint;
            std::size_t best = 3;
            for (auto candidate : known) {
                if (auto d = edit_distance(k, candidate); d < best) {
                    best = d;
                    hint = std::string(candidate);
                }
            }
            std::string msg = "unknown key";
            msg += hint.empty() ? " (remove it; valid keys here: " + join(known) + ")"
                                : " (did you mean \"" + hint + "\"?)";
            problem(&node, join_path(path, k), msg);
        }
    }

    toml::table const* table(toml::table const& parent, std::string const& path,
                             std::string_view key) {
        auto const* node = parent.get(key);
        if (node == nullptr)
            return nullptr;
        if (auto const* t = node->as_table())
            return t;
        problem(node, join_path(path, key),
                std::string("expected a table, got ") + type_name(*node));
        return nullptr;
    }

    std::optional<std::string> string(toml::table const& t, std::string const& path,
                                      std::string_view key) {
        auto const* node = t.get(key);
        if (node == nullptr)
            return std::nullopt;
        if (auto const* s = node->as_string())
            return s->get();
        problem(node, join_path(path, key),
                std::string("expected a string, got ") + type_name(*node));
        return std::nullopt;
    }

    std::optional<bool> boolean(toml::table const& t, std::string const& path,
                                std::string_view key) {
        auto const* node = t.get(key);
        if (node == nullptr)
            return std::nullopt;
        if (auto const* b = node->as_boolean())
            return b->get();
        problem(node, join_path(path, key),
                std::string("expected true or false, got ") + type_name(*node));
        return std::nullopt;
    }

    std::optional<std::int64_t> integer(toml::table const& t, std::string const& path,
                                        std::string_view key, std::int64_t min, std::int64_t max) {
        auto const* node = t.get(key);
        if (node == nullptr)
            return std::nullopt;
        auto const* i = node->as_integer();
        if (i == nullptr) {
            problem(node, join_path(path, key),
                    std::string("expected an integer, got ") + type_name(*node));
            return std::nullopt;
        }
        if (i->get() < min || i->get() > max) {
            problem(node, join_path(path, key),
                    "out of range: " + std::to_string(i->get()) + " (use " + std::to_string(min) +
                        ".." + std::to_string(max) + ")");
            return std::nullopt;
        }
        return i->get();
    }

    /// An integer or a float within [min, max].
    std::optional<double> number(toml::table const& t, std::string const& path,
                                 std::string_view key, double min, double max) {
        auto const* node = t.get(key);
        if (node == nullptr)
            return std::nullopt;
        std::optional<double> v;
        if (auto const* i = node->as_integer())
            v = static_cast<double>(i->get());
        else if (auto const* f = node->as_floating_point())
            v = f->get();
        if (!v) {
            problem(node, join_path(path, key),
                    std::string("expected a number, got ") + type_name(*node));
            return std::nullopt;
        }
        if (!(*v >= min && *v <= max)) {
            std::ostringstream range;
            range << "out of range: " << *v << " (use " << min << ".." << max << ")";
            problem(node, join_path(path, key), range.str());
            return std::nullopt;
        }
        return v;
    }

    std::optional<duration> duration_value(toml::table const& t, std::string const& path,
                                           std::string_view key) {
        auto text = string(t, path, key);
        if (!text)
            return std::nullopt;
        auto d = parse_duration(*text);
        if (!d || d->count() == 0) {
            problem(
                t.get(key), join_path(path, key),
                "invalid duration \"" + *text +
                    "\" (write a positive integer and a unit: \"10s\", \"500ms\", \"2m\", \"1h\")");
            return std::nullopt;
        }
        return d;
    }

    // An array of strings; each element gets its own path ("roles.x.allow[2]").
    std::optional<std::vector<std::pair<std::string, toml::node const*>>>
    strings(toml::table const& t, std::string const& path, std::string_view key) {
        auto const* node = t.get(key);
        if (node == nullptr)
            return std::nullopt;
        auto const* arr = node->as_array();
        if (arr == nullptr) {
            problem(node, join_path(path, key),
                    std::string("expected an array of strings, got ") + type_name(*node));
            return std::nullopt;
        }
        std::vector<std::pair<std::string, toml::node const*>> out;
        for (std::size_t i = 0; i < arr->size(); ++i) {
            auto const& el = *arr->get(i);
            std::string const p = join_path(path, key) + "[" + std::to_string(i) + "]";
            if (auto const* s = el.as_string())
                out.emplace_back(s->get(), &el);
            else
                problem(&el, p, std::string("expected a string, got ") + type_name(el));
        }
        return out;
    }

    // A file path, resolved against the config file's folder; it must exist.
    std::optional<std::filesystem::path> file(toml::table const& t, std::string const& path,
                                              std::string_view key, bool required) {
        auto text = string(t, path, key);
        if (!text) {
            if (required && t.get(key) == nullptr)
                problem(
                    &t, join_path(path, key),
                    "missing (give the path of a PEM file, relative to the config file's folder)");
            return std::nullopt;
        }
        std::filesystem::path p(*text);
        if (p.is_relative())
            p = base_ / p;
        std::error_code ec;
        if (!std::filesystem::is_regular_file(p, ec)) {
            problem(t.get(key), join_path(path, key),
                    "file not found: " + p.string() +
                        " (check the path; relative paths start at the config file's folder)");
            return std::nullopt;
        }
        return p.lexically_normal();
    }

    static std::string join_path(std::string const& path, std::string_view key) {
        std::string out = path;
        if (!out.empty())
            out += '.';
        out += key;
        return out;
    }

    static std::string join(std::initializer_list<std::string_view> items) {
        std::string out;
        for (auto item : items) {
            if (!out.empty())
                out += ", ";
            out += item;
        }
        return out;
    }

    std::vector<std::string>& problems() { return problems_; }
    std::filesystem::path const& base() const { return base_; }

private:
    std::string name_;
    std::filesystem::path base_;
    std::vector<std::string> problems_;
};

} // namespace dockgate::config::detail
