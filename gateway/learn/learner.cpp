// `dockgate learn`: audit lines in, a proposed role out. Each kept line adds its operation and
// the facts of its "request" object to what was observed; the role is then written with every
// constraint at its tightest value that still admits all of it.

#include "gateway/learn/learner.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "common/engine_api/route_table.hpp"
#include "config/constraints.hpp"
#include "gateway/inspect/image_reference.hpp"
#include "gateway/inspect/inspect.hpp"
#include "gateway/policy/outcome.hpp"

namespace dockgate::learn {

namespace {

using boost::json::object;
using boost::json::value;

// What the kept lines asked for.
struct observed {
    std::set<std::string> operations;
    std::string first_time, last_time;
    // [containers]
    bool containers = false; // a create or exec summarised
    bool privileged = false, devices = false, sysctls = false, cgroup_parent = false,
         privileged_ports = false, unconfined = false;
    bool all_non_root = true;
    std::set<std::string> cap_add, bind_sources, host_namespaces, runtimes, log_drivers,
        apparmor_profiles;
    bool custom_seccomp = false;
    // [images]
    std::set<std::string> repositories; // "docker.io/library/alpine"
    std::set<std::string> local_names;  // repositories that tag, commit or import named
    bool image_ids = false, load = false, import_url = false;
    // [volumes]
    bool volumes = false, driver_opts = false;
    std::set<std::string> volume_drivers;
    // Judged operations whose lines carried no facts, and how often.
    std::map<std::string, std::size_t> unsummarised;
};

std::string text(object const& o, std::string_view key) {
    auto const* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool flag(object const& o, std::string_view key) {
    auto const* v = o.if_contains(key);
    return v != nullptr && v->is_bool() && v->as_bool();
}

std::vector<std::string> list(object const& o, std::string_view key) {
    std::vector<std::string> out;
    auto const* v = o.if_contains(key);
    if (v == nullptr || !v->is_array())
        return out;
    for (auto const& item : v->as_array()) {
        if (item.is_string())
            out.emplace_back(item.as_string());
    }
    return out;
}

// "docker.io/library/alpine:3.19" -> "docker.io/library/alpine"; "" for an image ID or a name
// that does not parse.
std::string repository_of(std::string_view reference, bool& image_id) {
    auto parsed = inspect::parse_image_reference(reference);
    if (auto const* ref = std::get_if<inspect::image_reference>(&parsed))
        return ref->domain + "/" + ref->path;
    image_id = image_id || std::holds_alternative<inspect::image_id>(parsed);
    return {};
}

void security_option(observed& o, std::string const& opt) {
    if (opt.starts_with("no-new-privileges"))
        return;
    auto const sep = opt.find_first_of("=:");
    auto const key = opt.substr(0, sep);
    auto const val = sep == std::string::npos ? std::string() : opt.substr(sep + 1);
    if (key == "apparmor" && val != "unconfined") {
        if (val != "docker-default")
            o.apparmor_profiles.insert(val);
    } else if (key == "seccomp" && val != "unconfined") {
        o.custom_seccomp = o.custom_seccomp || val != "default";
    } else {
        // seccomp or apparmor unconfined, SELinux labels, systempaths, writable cgroups.
        o.unconfined = true;
    }
}

void container_facts(observed& o, object const& f, bool create) {
    o.containers = true;
    o.privileged = o.privileged || flag(f, "privileged");
    if (!flag(f, "user_non_root"))
        o.all_non_root = false;
    if (!create)
        return;
    bool image_id = false;
    if (auto const repo = repository_of(text(f, "image"), image_id); !repo.empty())
        o.repositories.insert(repo);
    o.image_ids = o.image_ids || image_id;
    for (auto& cap : list(f, "cap_add"))
        o.cap_add.insert(cap.starts_with("CAP_") ? cap.substr(4) : cap);
    for (auto& s : list(f, "bind_sources"))
        o.bind_sources.insert(s);
    for (auto& n : list(f, "host_namespaces"))
        o.host_namespaces.insert(n);
    o.devices = o.devices || flag(f, "devices");
    o.sysctls = o.sysctls || flag(f, "sysctls");
    o.cgroup_parent = o.cgroup_parent || flag(f, "cgroup_parent");
    o.privileged_ports = o.privileged_ports || flag(f, "privileged_ports");
    o.unconfined = o.unconfined || flag(f, "unconfined_paths") || flag(f, "unconfined");
    if (auto const r = text(f, "runtime"); !r.empty())
        o.runtimes.insert(r);
    if (auto const d = text(f, "log_driver"); !d.empty())
        o.log_drivers.insert(d);
    for (auto const& opt : list(f, "security_opt"))
        security_option(o, opt);
    for (auto const& t : list(f, "mount_types"))
        o.unconfined = o.unconfined || t == "cluster";
    auto drivers = list(f, "volume_drivers");
    if (auto const d = text(f, "volume_driver"); !d.empty())
        drivers.push_back(d);
    for (auto& d : drivers)
        o.volume_drivers.insert(d);
    o.driver_opts = o.driver_opts || flag(f, "volume_driver_opts");
    if (!list(f, "group_add").empty())
        o.all_non_root = false; // groups by name cannot be judged non-root from the line
}

void observe(observed& o, std::string const& op, object const* facts) {
    o.operations.insert(op);
    bool const summarised = op == "ContainerCreate" || op == "ContainerExec" ||
                            op == "VolumeCreate" || op == "ImageCreate" || op == "ImageTag" ||
                            op == "ImageCommit";
    if (facts == nullptr || flag(*facts, "unreadable")) {
        if (summarised || (inspect::handling_for(op) != inspect::body_handling::none &&
                           op != "ContainerStart" && op != "ImageLoad"))
            ++o.unsummarised[op];
        if (op == "ImageLoad")
            o.load = true;
        return;
    }
    auto const& f = *facts;
    bool image_id = false;
    if (op == "ContainerCreate" || op == "ContainerExec") {
        container_facts(o, f, op == "ContainerCreate");
    } else if (op == "VolumeCreate") {
        o.volumes = true;
        auto const d = text(f, "driver");
        o.volume_drivers.insert(d.empty() ? "local" : d);
        o.driver_opts = o.driver_opts || flag(f, "driver_opts");
    } else if (op == "ImageCreate" && !text(f, "image").empty()) {
        if (auto const repo = repository_of(text(f, "image"), image_id); !repo.empty())
            o.repositories.insert(repo);
    } else {
        o.import_url = o.import_url || flag(f, "import_url");
        if (auto const repo = repository_of(text(f, "name"), image_id); !repo.empty())
            o.local_names.insert(repo);
    }
}

// A TOML basic string.
std::string toml_string(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            (void)std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + '"';
}

template <class Range>
std::string array(Range const& items) {
    std::string out = "[";
    bool first = true;
    for (auto const& i : items) {
        out += first ? "" : ", ";
        out += toml_string(i);
        first = false;
    }
    return out + "]";
}

std::string boolean(bool b) {
    return b ? "true" : "false";
}

bool valid_role_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-';
    });
}

// The first CamelCase word: "Container" of "ContainerCreate".
std::string_view first_word(std::string_view op) {
    std::size_t i = 1;
    while (i < op.size() && !std::isupper(static_cast<unsigned char>(op[i])))
        ++i;
    return op.substr(0, i);
}

std::string write_role(observed const& o, options const& opt, std::vector<std::string>& warn) {
    auto const& all = engine_api::route_table::engine_api().operations();
    std::string t;
    std::string const r = "roles." + opt.role;
    t += "[" + r + "]\n";
    t += "subjects = [" +
         toml_string(opt.user.empty() ? "group:" + opt.group : "user:" + opt.user) + "]\n";
    t += "allow = " + array(collapse_operations(o.operations, all)) + "\n";
    t += "mode = \"enforce\" # \"audit\" keeps forwarding what this role would refuse, and logs "
         "it\n";

    bool const images = !o.repositories.empty() || !o.local_names.empty();
    if (o.containers) {
        t += "\n[" + r + ".containers]\n";
        t += "privileged = " + boolean(o.privileged) + "\n";
        t += "cap_add = " + array(o.cap_add) + "\n";
        t += "bind_sources = " + array(o.bind_sources) + "\n";
        t += "host_namespaces = " + boolean(!o.host_namespaces.empty());
        t += o.host_namespaces.empty() ? "\n" : " # used: " + [&] {
            std::string s;
            for (auto const& n : o.host_namespaces)
                s += (s.empty() ? "" : ", ") + n;
            return s;
        }() + "\n";
        t += "devices = " + boolean(o.devices) + "\n";
        t += "sysctls = " + boolean(o.sysctls) + "\n";
        t += "cgroup_parent = " + boolean(o.cgroup_parent) + "\n";
        t += "privileged_ports = " + boolean(o.privileged_ports) + "\n";
        t += "unconfined = " + boolean(o.unconfined) + "\n";
        t += "run_as_non_root = " + boolean(o.all_non_root) + "\n";
        if (!o.runtimes.empty()) {
            auto runtimes = o.runtimes;
            t += "runtimes = " + array(runtimes) + "\n";
        }
        if (!o.log_drivers.empty())
            t += "log_drivers = " + array(o.log_drivers) + "\n";
        if (!o.apparmor_profiles.empty()) {
            auto profiles = o.apparmor_profiles;
            profiles.insert("docker-default");
            t += "apparmor_profiles = " + array(profiles) + "\n";
        }
        if (o.custom_seccomp)
            warn.push_back("a container named its own seccomp profile: list that file in "
                           "containers.seccomp_profiles (the audit line does not carry it)");
    }
    bool const drivers_beyond_local = std::any_of(o.volume_drivers.begin(), o.volume_drivers.end(),
                                                  [](auto const& d) { return d != "local"; });
    if (o.volumes || o.driver_opts || drivers_beyond_local) {
        t += "\n[" + r + ".volumes]\n";
        auto drivers = o.volume_drivers;
        if (drivers.empty())
            drivers.insert("local");
        t += "drivers = " + array(drivers) + "\n";
        t += "driver_opts = " + boolean(o.driver_opts) + "\n";
    }
    if (images) {
        auto scopes = o.repositories;
        bool local_names = o.load;
        for (auto const& n : o.local_names)
            local_names = local_names || scopes.contains(n);
        if (o.import_url) {
            warn.push_back("an image was imported from a URL, which images.registries refuses; "
                           "the proposed role leaves images unconstrained");
        } else if (!scopes.empty()) {
            t += "\n[" + r + ".images]\n";
            t += "registries = " + array(scopes) + "\n";
            t += "local_names = " + boolean(local_names) + "\n";
            if (o.image_ids)
                warn.push_back("a container was created from an image ID: it is admitted only "
                               "when that image has a name in images.registries");
        }
    }
    for (auto const& [op, n] : o.unsummarised)
        warn.push_back(std::to_string(n) + " " + op +
                       " line(s) carry no request facts (audit lines written before the gateway "
                       "recorded them, or an operation it does not summarise); check that the "
                       "proposed constraints admit them with `dockgate explain`");
    return t;
}

// One line into `line`, at most max_line_bytes of it: the rest of a longer line is read and
// dropped (`too_long`), so a file without newlines cannot grow memory without bound. False at
// the end of the input.
bool read_line(std::istream& in, std::string& line, bool& too_long) {
    line.clear();
    too_long = false;
    auto* buf = in.rdbuf();
    if (buf == nullptr)
        return false;
    bool any = false;
    for (;;) {
        auto const c = buf->sbumpc();
        if (c == std::char_traits<char>::eof())
            return any;
        any = true;
        if (c == '\n')
            return true;
        if (line.size() < max_line_bytes)
            line += static_cast<char>(c);
        else
            too_long = true;
    }
}

} // namespace

std::vector<std::string> collapse_operations(std::set<std::string> const& used,
                                             std::span<std::string_view const> all) {
    auto const covered = [&](std::string const& glob) {
        return std::all_of(all.begin(), all.end(), [&](std::string_view op) {
            return !engine_api::glob_match(glob, op) || used.contains(std::string(op));
        });
    };
    std::vector<std::string> out;
    if (!used.empty() && covered("*"))
        return {"*"};
    for (auto const& op : used) {
        std::string const glob = std::string(first_word(op)) + "*";
        if (covered(glob)) {
            if (out.empty() || out.back() != glob)
                out.push_back(glob);
        } else {
            out.push_back(op);
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

result learn(std::istream& in, options const& opt) {
    if (opt.user.empty() == opt.group.empty())
        throw std::invalid_argument(
            "name whose traffic to learn from: --user NAME or --group NAME");
    if (!valid_role_name(opt.role))
        throw std::invalid_argument("--name \"" + opt.role +
                                    "\" is not a role name (letters, digits, '-' and '_')");
    result res;
    observed o;
    std::string line;
    bool too_long = false;
    while (read_line(in, line, too_long)) {
        if (!too_long && line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        ++res.read;
        boost::system::error_code ec;
        auto v = too_long ? value() : boost::json::parse(line, ec);
        auto const* rec = !ec && v.is_object() ? &v.as_object() : nullptr;
        auto const decision =
            rec != nullptr ? policy::outcome_from_name(text(*rec, "decision")) : std::nullopt;
        auto const op = rec != nullptr ? text(*rec, "operation") : std::string();
        if (rec == nullptr || !decision || !rec->contains("user")) {
            ++res.malformed;
            continue;
        }
        bool const mine = !opt.user.empty() ? text(*rec, "user") == opt.user : [&] {
            auto const groups = list(*rec, "groups");
            return std::find(groups.begin(), groups.end(), opt.group) != groups.end();
        }();
        if (!mine) {
            ++res.others;
            continue;
        }
        if (!policy::forwards(*decision) || op.empty()) {
            ++res.refused;
            continue;
        }
        ++res.used;
        auto const time = text(*rec, "time");
        if (!time.empty() && (o.first_time.empty() || time < o.first_time))
            o.first_time = time;
        if (time > o.last_time)
            o.last_time = time;
        auto const* facts = rec->if_contains("request");
        observe(o, op, facts != nullptr && facts->is_object() ? &facts->as_object() : nullptr);
    }
    if (res.malformed > 0)
        res.warnings.push_back(std::to_string(res.malformed) +
                               " line(s) skipped: not an audit line (JSON with user, operation "
                               "and decision)");
    std::string head;
    head += "# Proposed by `dockgate learn` from " + opt.source + ": " + std::to_string(res.read) +
            " lines read, " + std::to_string(res.used) + " used (" +
            (opt.user.empty() ? "group " + opt.group : "user " + opt.user) + "), " +
            std::to_string(res.malformed) + " malformed skipped, " + std::to_string(res.others) +
            " of other callers.\n";
    if (!o.first_time.empty())
        head += "# Traffic from " + o.first_time + " to " + o.last_time + ".\n";
    head += "# Learned only from requests that were forwarded (decision \"allow\" or "
            "\"would-deny\"); " +
            std::to_string(res.refused) +
            " that the gateway refused are left out.\n# Review before use: every operation and "
            "constraint below admits exactly what was observed.\n";
    if (res.used == 0) {
        res.warnings.push_back("no forwarded request of this caller: the role allows nothing");
    }
    res.toml = head + write_role(o, opt, res.warnings);
    return res;
}

} // namespace dockgate::learn
