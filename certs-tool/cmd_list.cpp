// list: every certificate in the ledger, as a table or as JSON.

#include <algorithm>
#include <array>

#include <boost/json.hpp>

#include "certs-tool/command_support.hpp"
#include "certs-tool/commands.hpp"
#include "certs-tool/error.hpp"
#include "common/duration.hpp"

namespace dockgate::certs {

namespace {

namespace json = boost::json;

struct row {
    std::string serial;
    std::string kind;
    std::string name;
    std::string subject;
    std::vector<std::string> groups;
    std::vector<std::string> dns;
    std::vector<std::string> ips;
    std::vector<std::string> uris;
    int ca = 0;
    time_point not_before;
    time_point not_after;
    cert_status status = cert_status::valid;
    std::optional<time_point> revoked_at;
    std::optional<std::string> reason;
    std::optional<std::string> superseded_by;
    std::string out;
};

std::vector<row> rows_of(ledger const& book, time_point now) {
    std::vector<row> rows;
    for (auto const& ca : book.cas)
        rows.push_back({ca.serial,
                        "ca",
                        ca.name,
                        "CN=" + ca.name,
                        {},
                        {},
                        {},
                        {},
                        ca.id,
                        ca.not_before,
                        ca.not_after,
                        status_of(ca, now),
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        {}});
    for (auto const& c : book.certs)
        rows.push_back({c.serial, std::string(kind_name(c.kind)), c.name, c.subject, c.groups,
                        c.dns, c.ips, c.uris, c.ca_id, c.not_before, c.not_after,
                        status_of(book, c, now), c.revoked_at,
                        c.revoked_at ? std::optional<std::string>(revocation_reason_name(c.reason))
                                     : std::nullopt,
                        c.superseded_by, c.out});
    return rows;
}

std::string joined(std::vector<std::string> const& values) {
    if (values.empty())
        return "-";
    std::string out;
    for (auto const& v : values)
        out += (out.empty() ? "" : ",") + v;
    return out;
}

json::value to_json(row const& r) {
    auto strings = [](std::vector<std::string> const& values) {
        json::array a;
        for (auto const& v : values)
            a.emplace_back(v);
        return a;
    };
    json::object o;
    o["serial"] = r.serial;
    o["kind"] = r.kind;
    o["name"] = r.name;
    o["subject"] = r.subject;
    o["groups"] = strings(r.groups);
    o["dns"] = strings(r.dns);
    o["ips"] = strings(r.ips);
    o["uris"] = strings(r.uris);
    o["ca"] = r.ca;
    o["not_before"] = format_utc(r.not_before);
    o["not_after"] = format_utc(r.not_after);
    o["status"] = std::string(status_name(r.status));
    o["revoked_at"] = r.revoked_at ? json::value(format_utc(*r.revoked_at)) : json::value(nullptr);
    o["reason"] = r.reason ? json::value(*r.reason) : json::value(nullptr);
    o["superseded_by"] = r.superseded_by ? json::value(*r.superseded_by) : json::value(nullptr);
    if (r.kind != "ca")
        o["out"] = r.out;
    return o;
}

void print_table(std::ostream& out, std::vector<row> const& rows) {
    std::vector<std::array<std::string, 7>> cells;
    cells.push_back({"SERIAL", "KIND", "CA", "SUBJECT", "GROUPS", "NOT-AFTER", "STATUS"});
    for (auto const& r : rows) {
        std::string const groups = r.kind == "server" ? std::string(1, '-') : joined(r.groups);
        std::string subject = r.subject;
        if (!r.dns.empty() || !r.ips.empty() || !r.uris.empty()) {
            std::vector<std::string> sans = r.dns;
            sans.insert(sans.end(), r.ips.begin(), r.ips.end());
            sans.insert(sans.end(), r.uris.begin(), r.uris.end());
            subject += " [" + joined(sans) + "]";
        }
        cells.push_back({r.serial, r.kind, std::to_string(r.ca), subject, groups,
                         format_utc(r.not_after), std::string(status_name(r.status))});
    }
    std::array<std::size_t, 7> width{};
    for (auto const& line : cells)
        for (std::size_t i = 0; i < line.size(); ++i)
            width[i] = std::max(width[i], line[i].size());
    for (auto const& line : cells) {
        std::string text;
        for (std::size_t i = 0; i < line.size(); ++i) {
            text += line[i];
            if (i + 1 < line.size())
                text += std::string(width[i] - line[i].size() + 2, ' ');
        }
        out << text << "\n";
    }
}

} // namespace

void run_list(list_options const& options) {
    std::optional<duration> within;
    if (options.expiring) {
        within = parse_duration(*options.expiring);
        if (!within || within->count() <= 0)
            fail_user("--expiring " + *options.expiring +
                      ": expected a duration like 14d, 36h or 90m");
    }
    auto state = pki_state::open(options.dir, dir_lock::mode::shared, *options.err);
    auto const& book = state.book();
    auto const now = options.clock();
    auto rows = rows_of(book, now);
    if (within) {
        auto const horizon = now + *within;
        std::erase_if(rows, [&](row const& r) {
            bool const live = r.status == cert_status::valid || r.status == cert_status::superseded;
            return !live || r.not_after > horizon;
        });
    }

    auto& out = *options.out;
    if (options.json) {
        json::array a;
        for (auto const& r : rows)
            a.push_back(to_json(r));
        out << json::serialize(a) << "\n";
    } else {
        print_table(out, rows);
    }
    out.flush(); // the table is whole before any warning below, wherever both streams go
    // CRLs that lapse make gateways refuse every client of that CA: say so on every list.
    for (auto const* ca : book.cas_in_force()) {
        auto const next = state.crl_next_update(ca->id);
        if (next && *next - now < std::chrono::hours(24))
            *options.err << "warning: the CRL of CA " << ca->id << " (\"" << ca->name << "\") "
                         << (*next <= now ? "expired" : "expires") << " at " << format_utc(*next)
                         << "; run `dockgate-certs crl` now and ship crl.pem to the gateways\n";
    }
}

} // namespace dockgate::certs
