// dockgate_bench: the load client of tests/bench/run.sh (see README.md next to it).
//
//   dockgate_bench rps    TARGET [-c N] [-d SECONDS] [--warmup SECONDS] [--path P]
//   dockgate_bench stream TARGET --path P [--expect-bytes N] [--repeat R] [--budget S]
//                                [--max-time S]
//   dockgate_bench idle   TARGET [-c N] [--concurrency K] [--settle S] [--hold S]
//   TARGET: --unix PATH | --tcp HOST:PORT | --tls HOST:PORT --ca F --cert F --key F
//           | --exec "COMMAND"   (HTTP over a child's stdin/stdout, e.g. "ssh ... docker system
//                                  dial-stdio"; one connection = one child process)
//           | --ssh HOST:PORT --ssh-user U --ssh-key F --ssh-host-key F   (idle only: libssh
//                                  client connections, one dial-stdio channel each)
//
// --pid PID (repeatable) names server processes: rps and stream report their CPU time per
// request / per GB over the measured window, idle reports their resident memory before and
// after the connections are open. --pid-tree PID does the same for PID and all its
// descendants (sshd forks a process per connection). The client's own CPU includes its exec
// children and any --client-pid (e.g. an `ssh -L` forwarder). Human-readable lines go to
// stdout; the last line is "RESULT key=value ..." for the script. Exit status: 0 ok, 1 the
// run failed, 2 bad usage.

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

#include <openssl/ssl.h>

#include "tests/bench/client_engine.hpp"
#include "tests/bench/ssh_clients.hpp"

namespace dockgate::bench {
namespace {

using namespace std::chrono_literals;
using seconds_d = std::chrono::duration<double>;

std::atomic<bool> stop_requested{false};

struct options {
    std::string mode;
    target where;
    bool have_target = false;
    std::string method = "GET";
    std::string path;
    std::string host_header = "docker";
    unsigned connections = 0;
    double duration = 5;
    double warmup = 1;
    unsigned repeat = 1;
    double budget = 0;   // stream: no new transfer after this many seconds (0: no bound)
    double max_time = 0; // stream: cut a transfer after this many seconds (0: no bound)
    std::optional<std::uint64_t> expect_bytes;
    unsigned concurrency = 64;
    double settle = 2;
    double hold = 0;
    double timeout = 10;
    std::vector<pid_t> pids;
    std::vector<bool> trees;        // per pids entry: count its descendants too
    std::vector<pid_t> client_pids; // helpers of the client whose CPU is the client's
    target ssh;                     // --ssh: host and port (idle only)
    std::string ssh_user, ssh_key, ssh_host_key;
};

[[noreturn]] void usage(std::string const& problem) {
    std::cerr
        << "dockgate_bench: " << problem << "\n"
        << "usage: dockgate_bench rps|stream|idle TARGET [OPTIONS]\n"
           "  TARGET: --unix PATH | --tcp HOST:PORT | --tls HOST:PORT --ca F --cert F --key F\n"
           "          | --exec COMMAND (HTTP over the stdin/stdout of /bin/sh -c \"exec "
           "COMMAND\";\n"
           "            one process per connection, ready after a first GET /_ping)\n"
           "          | --ssh HOST:PORT --ssh-user U --ssh-key F --ssh-host-key F (idle only;\n"
           "            libssh connections with one dial-stdio channel each)\n"
           "  -c, --connections N   rps: parallel connections (1); idle: connections to hold "
           "(10000)\n"
           "  -d, --duration S      rps: measured seconds (5)\n"
           "  --warmup S            rps: unmeasured seconds first (1)\n"
           "  --path P              request target (/_ping; required for stream)\n"
           "  --method M            GET or HEAD (GET)\n"
           "  --expect-bytes N      stream: fail unless the body has exactly N bytes\n"
           "  --repeat R            stream: transfers on the same connection (1)\n"
           "  --budget S            stream: start no further transfer after S seconds\n"
           "  --max-time S          stream: stop a transfer after S seconds, report the rate so "
           "far\n"
           "  --concurrency K       idle: connections being set up at once (64)\n"
           "  --settle S            idle: wait before reading memory (2)\n"
           "  --hold S              idle: keep the connections this long after reporting (0)\n"
           "  --timeout S           connect+handshake bound and response silence bound (10)\n"
           "  --pid PID             server process to watch (repeatable)\n"
           "  --pid-tree PID        the same, counting all of PID's descendants' CPU too\n"
           "  --client-pid PID      a helper process whose CPU counts as the client's "
           "(repeatable)\n";
    std::exit(2);
}

void split_host_port(std::string const& text, target& t) {
    auto const colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
        usage("expected HOST:PORT, got \"" + text + "\"");
    t.host = text.substr(0, colon);
    if (t.host.size() > 2 && t.host.front() == '[' && t.host.back() == ']')
        t.host = t.host.substr(1, t.host.size() - 2);
    int const port = std::atoi(text.c_str() + colon + 1);
    if (port <= 0 || port > 65535)
        usage("bad port in \"" + text + "\"");
    t.port = static_cast<std::uint16_t>(port);
}

double parse_number(std::string const& flag, std::string const& v) {
    char* end = nullptr;
    double const d = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || d < 0)
        usage(flag + ": expected a non-negative number, got \"" + v + "\"");
    return d;
}

options parse(int argc, char** argv) {
    options o;
    if (argc < 2)
        usage("missing mode");
    o.mode = argv[1];
    if (o.mode != "rps" && o.mode != "stream" && o.mode != "idle")
        usage("unknown mode \"" + o.mode + "\"");
    for (int i = 2; i < argc; ++i) {
        std::string const a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                usage(a + " needs a value");
            return argv[++i];
        };
        if (a == "--unix") {
            o.where.type = target::kind::unix_socket;
            o.where.unix_path = value();
            o.have_target = true;
        } else if (a == "--ssh") {
            split_host_port(value(), o.ssh);
            o.have_target = true;
        } else if (a == "--ssh-user") {
            o.ssh_user = value();
        } else if (a == "--ssh-key") {
            o.ssh_key = value();
        } else if (a == "--ssh-host-key") {
            o.ssh_host_key = value();
        } else if (a == "--exec") {
            o.where.type = target::kind::exec;
            o.where.command = value();
            o.have_target = true;
        } else if (a == "--tcp" || a == "--tls") {
            o.where.type = a == "--tcp" ? target::kind::tcp : target::kind::tls;
            split_host_port(value(), o.where);
            o.have_target = true;
        } else if (a == "--ca") {
            o.where.ca = value();
        } else if (a == "--cert") {
            o.where.cert = value();
        } else if (a == "--key") {
            o.where.key = value();
        } else if (a == "-c" || a == "--connections") {
            o.connections = static_cast<unsigned>(parse_number(a, value()));
        } else if (a == "-d" || a == "--duration") {
            o.duration = parse_number(a, value());
        } else if (a == "--warmup") {
            o.warmup = parse_number(a, value());
        } else if (a == "--path") {
            o.path = value();
        } else if (a == "--method") {
            o.method = value();
            if (o.method != "GET" && o.method != "HEAD")
                usage("--method: GET or HEAD");
        } else if (a == "--expect-bytes") {
            o.expect_bytes = static_cast<std::uint64_t>(parse_number(a, value()));
        } else if (a == "--repeat") {
            o.repeat = std::max(1u, static_cast<unsigned>(parse_number(a, value())));
        } else if (a == "--max-time") {
            o.max_time = parse_number(a, value());
        } else if (a == "--budget") {
            o.budget = parse_number(a, value());
        } else if (a == "--concurrency") {
            o.concurrency = std::max(1u, static_cast<unsigned>(parse_number(a, value())));
        } else if (a == "--settle") {
            o.settle = parse_number(a, value());
        } else if (a == "--hold") {
            o.hold = parse_number(a, value());
        } else if (a == "--timeout") {
            o.timeout = std::max(0.1, parse_number(a, value()));
        } else if (a == "--pid" || a == "--pid-tree") {
            o.pids.push_back(static_cast<pid_t>(parse_number(a, value())));
            o.trees.push_back(a == "--pid-tree");
        } else if (a == "--client-pid") {
            o.client_pids.push_back(static_cast<pid_t>(parse_number(a, value())));
        } else if (a == "-h" || a == "--help") {
            usage("help");
        } else {
            usage("unknown option \"" + a + "\"");
        }
    }
    if (!o.have_target)
        usage("no target: give --unix, --tcp, --tls or --exec");
    if (o.where.type == target::kind::tls &&
        (o.where.ca.empty() || o.where.cert.empty() || o.where.key.empty()))
        usage("--tls needs --ca, --cert and --key");
    if (o.path.empty()) {
        if (o.mode == "stream")
            usage("stream needs --path");
        o.path = "/_ping";
    }
    if (o.connections == 0)
        o.connections = o.mode == "idle" ? 10000 : 1;
    if (o.mode == "stream")
        o.connections = 1;
    return o;
}

// ---- what the watched server processes use -------------------------------------------

std::string process_name(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(in, name);
    return name.empty() ? "gone" : name;
}

// From /proc/PID/stat: the parent, user+system time of the process (all threads, live and
// exited), and that of its children it has waited for, in seconds.
struct proc_stat {
    pid_t ppid = 0;
    double own = 0;
    double reaped_children = 0;
    bool ok = false;
};

proc_stat read_proc_stat(pid_t pid) {
    proc_stat p;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto const paren = stat.rfind(')');
    if (paren == std::string::npos)
        return p;
    std::istringstream fields(stat.substr(paren + 2));
    std::string f;
    unsigned long long v[18] = {};
    for (int i = 3; i <= 17 && fields >> f;
         ++i) { // 3 state, 4 ppid, 14 utime, 15 stime, 16 cutime, 17 cstime
        if (i >= 4)
            v[i] = std::strtoull(f.c_str(), nullptr, 10);
    }
    double const tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    p.ppid = static_cast<pid_t>(v[4]);
    p.own = static_cast<double>(v[14] + v[15]) / tick;
    p.reaped_children = static_cast<double>(v[16] + v[17]) / tick;
    p.ok = true;
    return p;
}

double process_cpu_seconds(pid_t pid) {
    return read_proc_stat(pid).own;
}

// Every live process, by parent: for the CPU of a process tree.
std::multimap<pid_t, pid_t> children_by_parent() {
    std::multimap<pid_t, pid_t> out;
    std::error_code ec;
    for (auto const& entry : std::filesystem::directory_iterator("/proc", ec)) {
        auto const name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        pid_t const pid = std::atoi(name.c_str());
        auto const st = read_proc_stat(pid);
        if (st.ok)
            out.emplace(st.ppid, pid);
    }
    return out;
}

// CPU of PID, of the children it reaped, and (recursively) of its live descendants. A child
// that exits between two samples moves from "live" to its parent's reaped total: counted once.
double tree_cpu_seconds(pid_t pid, std::multimap<pid_t, pid_t> const& kids, int depth = 0) {
    auto const st = read_proc_stat(pid);
    double total = st.own + st.reaped_children;
    if (depth < 16) {
        auto const [from, to] = kids.equal_range(pid);
        for (auto it = from; it != to; ++it)
            total += tree_cpu_seconds(it->second, kids, depth + 1);
    }
    return total;
}

long process_rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            return std::atol(line.c_str() + 6);
    }
    return -1;
}

double rusage_seconds(int who) {
    rusage ru{};
    getrusage(who, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct cpu_sample {
    std::vector<double> servers;
    double self = 0;
};

// The client's CPU: this process, its exec children (live and reaped) and --client-pid.
cpu_sample sample_cpu(options const& o) {
    cpu_sample s;
    bool const need_tree = o.where.type == target::kind::exec || !o.client_pids.empty() ||
                           std::find(o.trees.begin(), o.trees.end(), true) != o.trees.end();
    std::multimap<pid_t, pid_t> kids;
    if (need_tree)
        kids = children_by_parent();
    for (std::size_t i = 0; i < o.pids.size(); ++i)
        s.servers.push_back(o.trees[i] ? tree_cpu_seconds(o.pids[i], kids)
                                       : process_cpu_seconds(o.pids[i]));
    s.self = rusage_seconds(RUSAGE_SELF);
    if (o.where.type == target::kind::exec) {
        s.self += rusage_seconds(RUSAGE_CHILDREN);
        auto const [from, to] = kids.equal_range(getpid());
        for (auto it = from; it != to; ++it)
            s.self += tree_cpu_seconds(it->second, kids);
    }
    for (auto pid : o.client_pids)
        s.self += tree_cpu_seconds(pid, kids);
    return s;
}

// "dockgate 12.3, dockerd 4.5" and "12.3,4.5" for the CPU used between two samples, scaled.
void describe_cpu(options const& o, cpu_sample const& a, cpu_sample const& b, double scale,
                  std::string& human, std::string& machine) {
    char buf[64];
    for (std::size_t i = 0; i < o.pids.size(); ++i) {
        double const v = (b.servers[i] - a.servers[i]) * scale;
        std::snprintf(buf, sizeof buf, "%.1f", v);
        human += process_name(o.pids[i]) + "[" + std::to_string(o.pids[i]) + "]" +
                 (o.trees[i] ? "+descendants " : " ") + buf + ", ";
        if (i != 0)
            machine += ',';
        machine += buf;
    }
    std::snprintf(buf, sizeof buf, "%.1f", (b.self - a.self) * scale);
    bool const helpers = o.where.type == target::kind::exec || !o.client_pids.empty();
    human += std::string(helpers ? "client (with its ssh/helpers) " : "client ") + buf;
    if (machine.empty())
        machine = "-";
    machine += std::string(" client_cpu=") + buf;
}

std::string build_request(options const& o) {
    return o.method + " " + o.path + " HTTP/1.1\r\nHost: " + o.host_header +
           "\r\nUser-Agent: dockgate-bench/1\r\n\r\n";
}

void print_errors(std::map<std::string, std::uint64_t> const& errors) {
    for (auto const& [why, n] : errors)
        std::cout << "  error x" << n << ": " << why << "\n";
}

std::uint64_t total(std::map<std::string, std::uint64_t> const& m) {
    std::uint64_t n = 0;
    for (auto const& [k, v] : m)
        n += v;
    return n;
}

// ---- rps: keep-alive requests as fast as the server answers -------------------------------

int run_rps(options const& o, std::shared_ptr<SSL_CTX> tls) {
    std::map<std::string, std::uint64_t> errors;
    std::vector<std::uint32_t> latency_us;
    latency_us.reserve(1 << 20);
    bool running = false;
    bool finished = false;
    std::uint64_t counted = 0, reconnects = 0;
    unsigned up = 0, lost_at_start = 0;
    auto warm_end = bench_clock::time_point::max(), end = bench_clock::time_point::max();

    engine* e = nullptr;
    engine::hooks hooks;
    hooks.ready = [&](connection& c) {
        ++up;
        if (running && !finished)
            e->send(c);
    };
    hooks.response = [&](connection& c) {
        auto const now = bench_clock::now();
        if (c.parser.status() != 200)
            ++errors["HTTP status " + std::to_string(c.parser.status())];
        else if (now >= warm_end && now < end) {
            ++counted;
            auto const us =
                std::chrono::duration_cast<std::chrono::microseconds>(now - c.request_started);
            latency_us.push_back(static_cast<std::uint32_t>(us.count()));
        }
        if (!c.parser.keep_alive()) {
            ++reconnects;
            if (now < end)
                e->reopen_later(c);
            else
                e->close(c);
            return;
        }
        if (now < end)
            e->send(c);
    };
    hooks.failed = [&](connection& c, std::string const& why) {
        ++errors[why];
        if (!running) {
            ++lost_at_start;
        } else if (!finished && bench_clock::now() < end && c.tag++ < 1000) {
            ++reconnects;
            e->reopen_later(c);
        }
    };
    engine eng(o.where, tls, build_request(o), o.method == "HEAD",
               std::chrono::milliseconds(static_cast<long>(o.timeout * 1000)), hooks);
    e = &eng;
    for (unsigned i = 0; i < o.connections; ++i)
        eng.add();
    for (auto& c : eng.connections())
        eng.open(*c);
    auto const connect_deadline = bench_clock::now() + seconds_d(o.timeout + 1);
    while (up + lost_at_start < o.connections && bench_clock::now() < connect_deadline &&
           !stop_requested)
        eng.poll(20ms);
    if (up == 0) {
        std::cout << "rps: no connection could be established to " << o.where.describe() << "\n";
        print_errors(errors);
        std::cout << "RESULT mode=rps rps=0 errors=" << total(errors) << "\n";
        return 1;
    }

    running = true;
    auto const start = bench_clock::now();
    warm_end = start + std::chrono::duration_cast<bench_clock::duration>(seconds_d(o.warmup));
    end = warm_end + std::chrono::duration_cast<bench_clock::duration>(seconds_d(o.duration));
    for (auto& c : eng.connections()) {
        if (c->state == phase::ready)
            eng.send(*c);
    }
    cpu_sample before, after;
    bool sampled = false;
    for (;;) {
        auto const now = bench_clock::now();
        if (!sampled && now >= warm_end) {
            before = sample_cpu(o);
            sampled = true;
        }
        if (now >= end || stop_requested)
            break;
        auto const next = sampled ? end : warm_end;
        auto const wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now) + 1ms;
        eng.poll(std::min<std::chrono::milliseconds>(wait, 100ms));
    }
    after = sample_cpu(o);
    finished = true;
    if (!sampled)
        before = after;

    double const secs = o.duration;
    double const rps = static_cast<double>(counted) / secs;
    auto pct = [&](double p) -> double {
        if (latency_us.empty())
            return 0;
        auto idx = static_cast<std::size_t>(p * static_cast<double>(latency_us.size() - 1));
        std::nth_element(latency_us.begin(), latency_us.begin() + static_cast<long>(idx),
                         latency_us.end());
        return latency_us[idx];
    };
    double const p50 = pct(0.50), p99 = pct(0.99), pmax = pct(1.0);
    std::string cpu_h, cpu_m;
    describe_cpu(o, before, after, counted > 0 ? 1e6 / static_cast<double>(counted) : 0, cpu_h,
                 cpu_m);
    char line[512];
    std::snprintf(line, sizeof line,
                  "rps: %s %s %s, %u connection(s), %.1f s measured after %.1f s warm-up\n"
                  "  %llu requests, %.0f req/s; latency p50 %.0f us, p99 %.0f us, max %.0f us\n",
                  o.where.describe().c_str(), o.method.c_str(), o.path.c_str(), o.connections, secs,
                  o.warmup, static_cast<unsigned long long>(counted), rps, p50, p99, pmax);
    std::cout << line << "  tls: " << eng.tls_description() << "\n  cpu per request (us): " << cpu_h
              << "\n  errors " << total(errors) << ", reconnects " << reconnects << "\n";
    print_errors(errors);
    std::snprintf(line, sizeof line,
                  "RESULT mode=rps connections=%u seconds=%.3f requests=%llu rps=%.1f p50_us=%.0f "
                  "p99_us=%.0f max_us=%.0f errors=%llu reconnects=%llu",
                  o.connections, secs, static_cast<unsigned long long>(counted), rps, p50, p99,
                  pmax, static_cast<unsigned long long>(total(errors)),
                  static_cast<unsigned long long>(reconnects));
    std::cout << line << " cpu_us_per_req=" << cpu_m << " tls=" << eng.tls_description() << "\n";
    return counted > 0 ? 0 : 1;
}

// ---- stream: one large response, as fast as it comes -------------------------------------

int run_stream(options const& o, std::shared_ptr<SSL_CTX> tls) {
    std::map<std::string, std::uint64_t> errors;
    bool got = false, lost = false, up = false;
    engine::hooks hooks;
    hooks.ready = [&](connection&) {
        up = true;
    };
    hooks.response = [&](connection&) {
        got = true;
    };
    hooks.failed = [&](connection&, std::string const& why) {
        ++errors[why];
        lost = true;
    };
    engine eng(o.where, tls, build_request(o), o.method == "HEAD",
               std::chrono::milliseconds(static_cast<long>(o.timeout * 1000)), hooks);
    auto& c = eng.add();
    std::vector<double> rates;
    std::uint64_t bytes_total = 0;
    double seconds_total = 0;
    cpu_sample before = sample_cpu(o);
    bool ok = true;
    bool partial = false;
    auto const first_start = bench_clock::now();
    for (unsigned r = 0; r < o.repeat && ok && !stop_requested; ++r) {
        if (r > 0 && o.budget > 0 && seconds_d(bench_clock::now() - first_start).count() > o.budget)
            break;
        if (c.state == phase::closed) {
            up = lost = false;
            eng.open(c);
            while (!up && !lost && !stop_requested)
                eng.poll(100ms);
            if (!up) {
                ok = false;
                break;
            }
            before = sample_cpu(o); // the handshake is not part of the transfer
        }
        got = lost = false;
        eng.send(c);
        bool cut = false;
        while (!got && !lost && !stop_requested) {
            eng.poll(100ms);
            if (o.max_time > 0 && !got && !lost &&
                seconds_d(bench_clock::now() - c.request_started).count() > o.max_time) {
                cut = true;
                break;
            }
        }
        auto const secs = seconds_d(bench_clock::now() - c.request_started).count();
        if (cut) {
            // Too slow to wait for: the rate over what arrived is still a fair measurement.
            auto const bytes = c.parser.body_bytes();
            ++errors["transfer cut by --max-time after " + std::to_string(static_cast<int>(secs)) +
                     " s, at " + std::to_string(bytes) + " bytes"];
            double const mbps = static_cast<double>(bytes) / 1e6 / secs;
            std::printf("stream: transfer %u: cut after %.3f s at %llu bytes = %.1f MB/s\n", r + 1,
                        secs, static_cast<unsigned long long>(bytes), mbps);
            rates.push_back(mbps);
            bytes_total += bytes;
            seconds_total += secs;
            partial = true;
            eng.close(c);
            break;
        }
        if (!got) {
            ok = false;
            break;
        }
        auto const bytes = c.parser.body_bytes();
        if (c.parser.status() != 200) {
            ++errors["HTTP status " + std::to_string(c.parser.status())];
            ok = false;
        } else if (o.expect_bytes && bytes != *o.expect_bytes) {
            ++errors["body has " + std::to_string(bytes) + " bytes, expected " +
                     std::to_string(*o.expect_bytes)];
            ok = false;
        }
        double const mbps = static_cast<double>(bytes) / 1e6 / secs;
        std::printf("stream: transfer %u: %llu bytes in %.3f s = %.1f MB/s (%s)\n", r + 1,
                    static_cast<unsigned long long>(bytes), secs, mbps,
                    c.parser.chunked() ? "chunked" : "Content-Length");
        rates.push_back(mbps);
        bytes_total += bytes;
        seconds_total += secs;
    }
    cpu_sample const after = sample_cpu(o);
    std::fflush(stdout);
    if (rates.empty() || !ok) {
        std::cout << "stream: " << o.where.describe() << " " << o.path << " failed\n";
        print_errors(errors);
        std::cout << "RESULT mode=stream mbps=0 errors="
                  << std::max<std::uint64_t>(1, total(errors)) << "\n";
        return 1;
    }
    auto sorted = rates;
    std::sort(sorted.begin(), sorted.end());
    double const median = sorted[sorted.size() / 2];
    double const best = sorted.back();
    std::string cpu_h, cpu_m;
    describe_cpu(o, before, after, bytes_total > 0 ? 1e9 / static_cast<double>(bytes_total) : 0,
                 cpu_h, cpu_m);
    std::printf("stream: %s %s: median %.1f MB/s, best %.1f MB/s over %zu transfer(s); tls: %s\n"
                "  cpu seconds per GB: %s\n",
                o.where.describe().c_str(), o.path.c_str(), median, best, rates.size(),
                eng.tls_description().c_str(), cpu_h.c_str());
    print_errors(errors);
    std::printf("RESULT mode=stream bytes=%llu seconds=%.3f mbps=%.1f best_mbps=%.1f transfers=%zu "
                "errors=%llu "
                "partial=%d cpu_s_per_gb=%s tls=%s\n",
                static_cast<unsigned long long>(bytes_total), seconds_total, median, best,
                rates.size(), static_cast<unsigned long long>(total(errors)), partial ? 1 : 0,
                cpu_m.c_str(), eng.tls_description().c_str());
    return partial ? 1 : 0;
}

// ---- idle: many keep-alive connections, each after one request, held open ------------------

int run_idle(options const& o, std::shared_ptr<SSL_CTX> tls) {
    rlimit nofile{};
    getrlimit(RLIMIT_NOFILE, &nofile);
    rlim_t const need = o.connections + 64;
    if (nofile.rlim_cur < need) {
        nofile.rlim_cur = std::min<rlim_t>(std::max(need, nofile.rlim_cur), nofile.rlim_max);
        setrlimit(RLIMIT_NOFILE, &nofile);
        if (nofile.rlim_cur < need)
            std::cerr << "idle: RLIMIT_NOFILE hard limit " << nofile.rlim_max << " is below the "
                      << need << " descriptors needed; expect failures\n";
    }

    std::vector<long> rss_before;
    for (auto pid : o.pids)
        rss_before.push_back(process_rss_kib(pid));

    std::map<std::string, std::uint64_t> errors, lost_reasons;
    unsigned opened = 0, in_flight = 0, established = 0, failed = 0, lost = 0;
    engine* e = nullptr;
    constexpr int holding = 1;
    engine::hooks hooks;
    hooks.ready = [&](connection& c) {
        e->send(c);
    };
    hooks.response = [&](connection& c) {
        --in_flight;
        if (c.parser.status() != 200 || !c.parser.keep_alive()) {
            ++failed;
            ++errors[c.parser.status() != 200 ? "HTTP status " + std::to_string(c.parser.status())
                                              : "server closes after the response"];
            e->close(c);
            return;
        }
        ++established;
        c.tag = holding;
    };
    hooks.failed = [&](connection& c, std::string const& why) {
        if (c.tag == holding) {
            ++lost;
            ++lost_reasons[why];
            c.tag = 0;
            return;
        }
        --in_flight;
        ++failed;
        ++errors[why];
    };
    std::optional<engine> eng;
    std::optional<ssh_clients> ssh;
    if (o.ssh.port != 0)
        ssh.emplace(o.ssh.host, o.ssh.port, o.ssh_user, o.ssh_key, o.ssh_host_key, build_request(o),
                    o.timeout);
    else
        eng.emplace(o.where, tls, build_request(o), o.method == "HEAD",
                    std::chrono::milliseconds(static_cast<long>(o.timeout * 1000)), hooks);
    e = eng ? &*eng : nullptr;
    for (unsigned i = 0; eng && i < o.connections; ++i)
        eng->add();

    auto const start = bench_clock::now();
    auto const cpu_start = sample_cpu(o);
    auto next_progress = start + 2s;
    auto progress = [&] {
        if (bench_clock::now() >= next_progress) {
            next_progress += 2s;
            std::cerr << "idle: " << established << " established, " << failed << " failed, "
                      << in_flight << " in flight of " << o.connections << "\n";
        }
    };
    if (ssh) {
        // Blocking libssh clients: `concurrency` threads of them, at most 16.
        ssh->open(o.connections, std::min(o.concurrency, 16u),
                  [&](bool ok, std::string const& why) {
                      ++opened;
                      if (ok) {
                          ++established;
                      } else {
                          ++failed;
                          ++errors[why];
                      }
                      progress();
                      return !stop_requested;
                  });
    }
    while (eng && (opened < o.connections || in_flight > 0) && !stop_requested) {
        auto const& conns = eng->connections();
        while (in_flight < o.concurrency && opened < o.connections) {
            ++in_flight;
            eng->open(*conns[opened++]);
        }
        eng->poll(10ms);
        progress();
    }
    double const setup_secs = seconds_d(bench_clock::now() - start).count();
    std::string setup_cpu_h, setup_cpu_m;
    describe_cpu(o, cpu_start, sample_cpu(o), established > 0 ? 1e3 / established : 0, setup_cpu_h,
                 setup_cpu_m);

    auto run_for = [&](double secs) {
        auto const until =
            bench_clock::now() + std::chrono::duration_cast<bench_clock::duration>(seconds_d(secs));
        while (bench_clock::now() < until && !stop_requested) {
            if (eng)
                eng->poll(100ms);
            else
                std::this_thread::sleep_for(100ms);
        }
        if (ssh)
            lost = ssh->closed_by_server();
    };
    run_for(o.settle);
    unsigned const alive = established - lost;
    std::string const transport = eng ? eng->tls_description() : std::string("ssh");
    std::string const where =
        ssh ? "ssh:" + o.ssh.host + ":" + std::to_string(o.ssh.port) : o.where.describe();
    std::vector<long> rss_after;
    for (auto pid : o.pids)
        rss_after.push_back(process_rss_kib(pid));

    std::printf("idle: %s: %u of %u connections established (handshake + %s %s) in %.1f s "
                "(%.0f/s); %u failed; %u closed by the server since; tls: %s\n",
                where.c_str(), established, o.connections, o.method.c_str(), o.path.c_str(),
                setup_secs, established / std::max(setup_secs, 1e-9), failed, lost,
                transport.c_str());
    std::printf("  cpu ms per connection set up: %s\n", setup_cpu_h.c_str());
    print_errors(errors);
    for (auto const& [why, n] : lost_reasons)
        std::cout << "  closed by server x" << n << ": " << why << "\n";
    std::string before_m, after_m, per_m;
    char buf[64];
    for (std::size_t i = 0; i < o.pids.size(); ++i) {
        double const per =
            alive > 0 ? static_cast<double>(rss_after[i] - rss_before[i]) / alive : 0;
        std::printf("  %s[%d]: VmRSS %ld KiB -> %ld KiB: %.1f KiB per open connection\n",
                    process_name(o.pids[i]).c_str(), o.pids[i], rss_before[i], rss_after[i], per);
        std::snprintf(buf, sizeof buf, "%.1f", per);
        if (i != 0) {
            before_m += ',';
            after_m += ',';
            per_m += ',';
        }
        before_m += std::to_string(rss_before[i]);
        after_m += std::to_string(rss_after[i]);
        per_m += buf;
    }
    if (o.pids.empty())
        before_m = after_m = per_m = "-";
    std::printf("RESULT mode=idle requested=%u established=%u alive=%u failed=%u setup_s=%.1f "
                "rss_before_kib=%s rss_after_kib=%s rss_per_conn_kib=%s setup_cpu_ms=%s tls=%s\n",
                o.connections, established, alive, failed, setup_secs, before_m.c_str(),
                after_m.c_str(), per_m.c_str(), setup_cpu_m.c_str(), transport.c_str());
    std::fflush(stdout);
    if (o.hold > 0) {
        unsigned const lost_before = lost;
        run_for(o.hold);
        if (lost != lost_before)
            std::printf("idle: %u more connection(s) closed by the server while held\n",
                        lost - lost_before);
    }
    return established > 0 ? 0 : 1;
}

} // namespace
} // namespace dockgate::bench

int main(int argc, char** argv) {
    using namespace dockgate::bench;
    std::signal(SIGPIPE, SIG_IGN);
    auto on_signal = [](int) {
        stop_requested = true;
    };
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::ios::sync_with_stdio(true);
    try {
        auto o = parse(argc, argv);
        if (o.ssh.port != 0 &&
            (o.mode != "idle" || o.ssh_user.empty() || o.ssh_key.empty() || o.ssh_host_key.empty()))
            usage("--ssh is for idle, with --ssh-user, --ssh-key and --ssh-host-key");
        if (o.ssh.port == 0)
            o.where.resolve();
        std::shared_ptr<SSL_CTX> tls;
        if (o.where.type == target::kind::tls)
            tls = make_client_tls(o.where, o.mode == "stream", o.mode == "idle");
        if (o.mode == "rps")
            return run_rps(o, tls);
        if (o.mode == "stream")
            return run_stream(o, tls);
        return run_idle(o, tls);
    } catch (std::exception const& ex) {
        std::cerr << "dockgate_bench: " << ex.what() << "\n";
        return 1;
    }
}
