// ledger.json: the ledger as indented JSON (Boost.JSON), and strict parsing back.
#include <algorithm>
#include <set>

#include <boost/json.hpp>

#include "certs-tool/error.hpp"
#include "certs-tool/ledger.hpp"

namespace dockgate::certs {

namespace json = boost::json;

namespace {

constexpr int ledger_version = 1;

// ---- writing ---------------------------------------------------------------------------

json::value time_value(time_point t) {
    return json::value(format_utc(t));
}

json::value optional_time(std::optional<time_point> const& t) {
    return t ? time_value(*t) : json::value(nullptr);
}

json::array string_array(std::vector<std::string> const& values) {
    json::array out;
    for (auto const& v : values)
        out.emplace_back(v);
    return out;
}

json::object to_json(ca_record const& ca) {
    json::object o;
    o["id"] = ca.id;
    o["serial"] = ca.serial;
    o["name"] = ca.name;
    o["key"] = std::string(key_type_name(ca.key));
    o["key_encrypted"] = ca.key_encrypted;
    o["state"] = std::string(state_name(ca.state));
    o["not_before"] = time_value(ca.not_before);
    o["not_after"] = time_value(ca.not_after);
    o["created_at"] = time_value(ca.created_at);
    o["retired_at"] = optional_time(ca.retired_at);
    o["crl_number"] = ca.crl_number;
    return o;
}

json::object to_json(cert_record const& c) {
    json::object o;
    o["serial"] = c.serial;
    o["kind"] = std::string(kind_name(c.kind));
    o["ca"] = c.ca_id;
    o["name"] = c.name;
    o["groups"] = string_array(c.groups);
    o["dns"] = string_array(c.dns);
    if (!c.uris.empty())
        o["uris"] = string_array(c.uris);
    o["ips"] = string_array(c.ips);
    o["subject"] = c.subject;
    o["key"] = std::string(key_type_name(c.key));
    o["not_before"] = time_value(c.not_before);
    o["not_after"] = time_value(c.not_after);
    o["issued_at"] = time_value(c.issued_at);
    o["out"] = c.out;
    o["revoked_at"] = optional_time(c.revoked_at);
    o["reason"] = c.revoked_at ? json::value(std::string(revocation_reason_name(c.reason)))
                               : json::value(nullptr);
    o["superseded_by"] = c.superseded_by ? json::value(*c.superseded_by) : json::value(nullptr);
    o["renewal_of"] = c.renewal_of ? json::value(*c.renewal_of) : json::value(nullptr);
    return o;
}

bool is_scalar_array(json::array const& a) {
    return std::all_of(a.begin(), a.end(), [](json::value const& v) { return !v.is_structured(); });
}

// Objects one key per line, arrays of scalars on one line: readable and diffable.
void pretty(json::value const& v, std::string& out, int indent) {
    std::string const pad(static_cast<std::size_t>(indent + 2), ' ');
    if (v.is_object()) {
        auto const& o = v.get_object();
        if (o.empty()) {
            out += "{}";
            return;
        }
        out += "{\n";
        bool first = true;
        for (auto const& [key, value] : o) {
            if (!first)
                out += ",\n";
            first = false;
            out += pad + json::serialize(json::value(key)) + ": ";
            pretty(value, out, indent + 2);
        }
        out += "\n" + std::string(static_cast<std::size_t>(indent), ' ') + "}";
    } else if (v.is_array() && !is_scalar_array(v.get_array())) {
        auto const& a = v.get_array();
        out += "[\n";
        for (std::size_t i = 0; i < a.size(); ++i) {
            out += pad;
            pretty(a[i], out, indent + 2);
            out += i + 1 < a.size() ? ",\n" : "\n";
        }
        out += std::string(static_cast<std::size_t>(indent), ' ') + "]";
    } else if (v.is_array()) {
        auto const& a = v.get_array();
        out += "[";
        for (std::size_t i = 0; i < a.size(); ++i)
            out += (i > 0 ? ", " : "") + json::serialize(a[i]);
        out += "]";
    } else {
        out += json::serialize(v);
    }
}

// ---- reading ---------------------------------------------------------------------------

class reader {
public:
    explicit reader(std::string file)
        : file_(std::move(file)) {}

    [[noreturn]] void fail(std::string const& path, std::string const& what) const {
        fail_user(file_ + ": " + path + ": " + what +
                  " (the ledger is corrupt: restore ledger.json from a backup)");
    }

    json::object const& object(json::value const& v, std::string const& path) const {
        if (!v.is_object())
            fail(path, "expected an object");
        return v.get_object();
    }

    json::value const& field(json::object const& o, std::string const& path,
                             char const* key) const {
        auto const* v = o.if_contains(key);
        if (v == nullptr)
            fail(path + "." + key, "missing");
        return *v;
    }

    std::string string(json::object const& o, std::string const& path, char const* key) const {
        auto const& v = field(o, path, key);
        if (!v.is_string())
            fail(path + "." + key, "expected a string");
        return std::string(v.get_string());
    }

    std::optional<std::string> optional_string(json::object const& o, std::string const& path,
                                               char const* key) const {
        auto const* v = o.if_contains(key);
        if (v == nullptr || v->is_null())
            return std::nullopt;
        if (!v->is_string())
            fail(path + "." + key, "expected a string or null");
        return std::string(v->get_string());
    }

    long integer(json::object const& o, std::string const& path, char const* key, long min,
                 long max) const {
        auto const& v = field(o, path, key);
        if (!v.is_int64() && !v.is_uint64())
            fail(path + "." + key, "expected an integer");
        if (v.is_uint64() || v.get_int64() < min || v.get_int64() > max)
            fail(path + "." + key,
                 "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
        return static_cast<long>(v.get_int64());
    }

    bool boolean(json::object const& o, std::string const& path, char const* key) const {
        auto const& v = field(o, path, key);
        if (!v.is_bool())
            fail(path + "." + key, "expected true or false");
        return v.get_bool();
    }

    time_point time(json::object const& o, std::string const& path, char const* key) const {
        auto const t = parse_utc(string(o, path, key));
        if (!t)
            fail(path + "." + key, "expected a time like 2025-01-31T12:00:00Z");
        return *t;
    }

    std::optional<time_point> optional_time(json::object const& o, std::string const& path,
                                            char const* key) const {
        auto const text = optional_string(o, path, key);
        if (!text)
            return std::nullopt;
        auto const t = parse_utc(*text);
        if (!t)
            fail(path + "." + key, "expected a time like 2025-01-31T12:00:00Z or null");
        return t;
    }

    std::vector<std::string> strings(json::object const& o, std::string const& path,
                                     char const* key) const {
        auto const& v = field(o, path, key);
        if (!v.is_array())
            fail(path + "." + key, "expected an array of strings");
        std::vector<std::string> out;
        for (auto const& item : v.get_array()) {
            if (!item.is_string())
                fail(path + "." + key, "expected an array of strings");
            out.emplace_back(item.get_string());
        }
        return out;
    }

    std::string serial(json::object const& o, std::string const& path, char const* key) const {
        auto text = string(o, path, key);
        if (normalize_serial(text) != text)
            fail(path + "." + key, "not an upper-case hex serial");
        return text;
    }

    key_type key(json::object const& o, std::string const& path) const {
        auto const type = parse_key_type(string(o, path, "key"));
        if (!type)
            fail(path + ".key", "expected one of " + key_type_names());
        return *type;
    }

private:
    std::string file_;
};

ca_record read_ca(reader const& r, json::value const& v, std::string const& path) {
    auto const& o = r.object(v, path);
    ca_record ca;
    ca.id = static_cast<int>(r.integer(o, path, "id", 1, 1'000'000));
    ca.serial = r.serial(o, path, "serial");
    ca.name = r.string(o, path, "name");
    ca.key = r.key(o, path);
    ca.key_encrypted = r.boolean(o, path, "key_encrypted");
    auto const state = r.string(o, path, "state");
    if (state == "current")
        ca.state = ca_state::current;
    else if (state == "previous")
        ca.state = ca_state::previous;
    else if (state == "retired")
        ca.state = ca_state::retired;
    else
        r.fail(path + ".state", "expected current, previous or retired");
    ca.not_before = r.time(o, path, "not_before");
    ca.not_after = r.time(o, path, "not_after");
    ca.created_at = r.time(o, path, "created_at");
    ca.retired_at = r.optional_time(o, path, "retired_at");
    ca.crl_number = r.integer(o, path, "crl_number", 0, 1L << 53);
    return ca;
}

cert_record read_cert(reader const& r, json::value const& v, std::string const& path) {
    auto const& o = r.object(v, path);
    cert_record c;
    c.serial = r.serial(o, path, "serial");
    auto const kind = r.string(o, path, "kind");
    if (kind == "server")
        c.kind = leaf_kind::server;
    else if (kind == "client")
        c.kind = leaf_kind::client;
    else
        r.fail(path + ".kind", "expected server or client");
    c.ca_id = static_cast<int>(r.integer(o, path, "ca", 1, 1'000'000));
    c.name = r.string(o, path, "name");
    c.groups = r.strings(o, path, "groups");
    c.dns = r.strings(o, path, "dns");
    c.ips = r.strings(o, path, "ips");
    if (o.contains("uris")) // absent in ledgers written before URI SANs
        c.uris = r.strings(o, path, "uris");
    c.subject = r.string(o, path, "subject");
    c.key = r.key(o, path);
    c.not_before = r.time(o, path, "not_before");
    c.not_after = r.time(o, path, "not_after");
    c.issued_at = r.time(o, path, "issued_at");
    c.out = r.string(o, path, "out");
    c.revoked_at = r.optional_time(o, path, "revoked_at");
    if (c.revoked_at) {
        auto const reason = parse_revocation_reason(r.string(o, path, "reason"));
        if (!reason)
            r.fail(path + ".reason", "expected one of " + revocation_reason_names());
        c.reason = *reason;
    }
    c.superseded_by = r.optional_string(o, path, "superseded_by");
    c.renewal_of = r.optional_string(o, path, "renewal_of");
    return c;
}

} // namespace

std::string serialize_ledger(ledger const& book) {
    json::object root;
    root["format"] = "dockgate-certs ledger";
    root["version"] = ledger_version;
    root["crl_days"] = book.crl_days;
    json::array cas;
    for (auto const& ca : book.cas)
        cas.emplace_back(to_json(ca));
    root["cas"] = std::move(cas);
    json::array certs;
    for (auto const& c : book.certs)
        certs.emplace_back(to_json(c));
    root["certificates"] = std::move(certs);
    std::string out;
    pretty(root, out, 0);
    out += "\n";
    return out;
}

ledger parse_ledger(std::string_view text, std::string const& file) {
    reader const r(file);
    boost::system::error_code ec;
    json::value const root = json::parse(json::string_view(text.data(), text.size()), ec);
    if (ec)
        fail_user(file + ": not valid JSON (" + ec.message() +
                  "); the ledger is corrupt: restore ledger.json from a backup");
    auto const& o = r.object(root, "$");
    if (r.integer(o, "$", "version", 0, 1'000'000) != ledger_version)
        r.fail("$.version", "this dockgate-certs reads version " + std::to_string(ledger_version));
    ledger book;
    book.crl_days = static_cast<int>(r.integer(o, "$", "crl_days", 1, 3650));

    auto const& cas = r.field(o, "$", "cas");
    if (!cas.is_array())
        r.fail("$.cas", "expected an array");
    for (std::size_t i = 0; i < cas.get_array().size(); ++i)
        book.cas.push_back(read_ca(r, cas.get_array()[i], "$.cas[" + std::to_string(i) + "]"));
    auto const& certs = r.field(o, "$", "certificates");
    if (!certs.is_array())
        r.fail("$.certificates", "expected an array");
    for (std::size_t i = 0; i < certs.get_array().size(); ++i)
        book.certs.push_back(
            read_cert(r, certs.get_array()[i], "$.certificates[" + std::to_string(i) + "]"));

    // Cross-record invariants.
    std::set<int> ids;
    std::set<std::string> serials;
    int current = 0, previous = 0;
    for (std::size_t i = 0; i < book.cas.size(); ++i) {
        auto const& ca = book.cas[i];
        auto const path = "$.cas[" + std::to_string(i) + "]";
        if (!ids.insert(ca.id).second)
            r.fail(path + ".id", "duplicate CA id " + std::to_string(ca.id));
        if (!serials.insert(ca.serial).second)
            r.fail(path + ".serial", "duplicate serial " + ca.serial);
        current += ca.state == ca_state::current;
        previous += ca.state == ca_state::previous;
    }
    if (current != 1)
        r.fail("$.cas",
               "expected exactly one CA in state current, found " + std::to_string(current));
    if (previous > 1)
        r.fail("$.cas",
               "expected at most one CA in state previous, found " + std::to_string(previous));
    for (std::size_t i = 0; i < book.certs.size(); ++i) {
        auto const& c = book.certs[i];
        auto const path = "$.certificates[" + std::to_string(i) + "]";
        if (!serials.insert(c.serial).second)
            r.fail(path + ".serial", "duplicate serial " + c.serial);
        if (!ids.contains(c.ca_id))
            r.fail(path + ".ca", "no CA with id " + std::to_string(c.ca_id));
    }
    return book;
}

} // namespace dockgate::certs
