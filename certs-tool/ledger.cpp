#include "certs-tool/ledger.hpp"

#include <algorithm>

#include "certs-tool/error.hpp"

namespace dockgate::certs {

ca_record* ledger::current_ca() {
    auto it = std::find_if(cas.begin(), cas.end(),
                           [](auto const& c) { return c.state == ca_state::current; });
    return it == cas.end() ? nullptr : &*it;
}
ca_record const* ledger::current_ca() const {
    return const_cast<ledger*>(this)->current_ca();
}

ca_record* ledger::previous_ca() {
    auto it = std::find_if(cas.begin(), cas.end(),
                           [](auto const& c) { return c.state == ca_state::previous; });
    return it == cas.end() ? nullptr : &*it;
}
ca_record const* ledger::previous_ca() const {
    return const_cast<ledger*>(this)->previous_ca();
}

ca_record* ledger::find_ca(int id) {
    auto it = std::find_if(cas.begin(), cas.end(), [id](auto const& c) { return c.id == id; });
    return it == cas.end() ? nullptr : &*it;
}
ca_record const* ledger::find_ca(int id) const {
    return const_cast<ledger*>(this)->find_ca(id);
}

std::vector<ca_record const*> ledger::cas_in_force() const {
    std::vector<ca_record const*> out;
    if (auto const* c = current_ca())
        out.push_back(c);
    if (auto const* p = previous_ca())
        out.push_back(p);
    return out;
}

cert_record* ledger::find_cert(std::string_view serial) {
    auto const wanted = normalize_serial(serial);
    if (wanted.empty())
        return nullptr;
    auto it = std::find_if(certs.begin(), certs.end(),
                           [&](auto const& c) { return normalize_serial(c.serial) == wanted; });
    return it == certs.end() ? nullptr : &*it;
}

ca_record* ledger::find_ca_by_serial(std::string_view serial) {
    auto const wanted = normalize_serial(serial);
    if (wanted.empty())
        return nullptr;
    auto it = std::find_if(cas.begin(), cas.end(),
                           [&](auto const& c) { return normalize_serial(c.serial) == wanted; });
    return it == cas.end() ? nullptr : &*it;
}

int ledger::next_ca_id() const {
    int id = 0;
    for (auto const& c : cas)
        id = std::max(id, c.id);
    return id + 1;
}

std::string_view status_name(cert_status status) {
    switch (status) {
    case cert_status::valid:
        return "valid";
    case cert_status::expired:
        return "expired";
    case cert_status::revoked:
        return "revoked";
    case cert_status::superseded:
        return "superseded";
    case cert_status::retired:
        return "retired";
    }
    return "unknown";
}

cert_status status_of(ledger const& book, cert_record const& cert, time_point now) {
    if (cert.revoked_at)
        return cert_status::revoked;
    if (now >= cert.not_after)
        return cert_status::expired;
    auto const* ca = book.find_ca(cert.ca_id);
    if (ca == nullptr || ca->state == ca_state::retired)
        return cert_status::retired;
    if (cert.superseded_by)
        return cert_status::superseded;
    return cert_status::valid;
}

cert_status status_of(ca_record const& ca, time_point now) {
    if (ca.state == ca_state::retired)
        return cert_status::retired;
    if (now >= ca.not_after)
        return cert_status::expired;
    if (ca.state == ca_state::previous)
        return cert_status::superseded;
    return cert_status::valid;
}

std::string_view kind_name(leaf_kind kind) {
    return kind == leaf_kind::server ? "server" : "client";
}

std::string_view state_name(ca_state state) {
    switch (state) {
    case ca_state::current:
        return "current";
    case ca_state::previous:
        return "previous";
    case ca_state::retired:
        return "retired";
    }
    return "unknown";
}

} // namespace dockgate::certs
