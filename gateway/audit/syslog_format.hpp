#pragma once
// Audit records as RFC 5424 syslog messages, and the octet-counted framing (RFC 6587 §3.4.1,
// RFC 5425) that carries them over TCP and TLS. Pure functions: no I/O.

#include <cstddef>
#include <string>
#include <string_view>

#include "gateway/audit/audit_log.hpp"

namespace dockgate::audit {

/// The parts of the header that do not change between records.
struct syslog_origin {
    unsigned facility = 10; // authpriv
    std::string hostname;   // "-" when unknown; printable US-ASCII, at most 255 octets
    unsigned long pid = 0;
};

/// The private enterprise number of the structured data element ("dockgate@32473": 32473 is
/// the number RFC 5612 reserves for documentation and examples).
inline constexpr std::string_view sd_id = "dockgate@32473";

/// Datagrams (unix socket, UDP) carry at most this many octets: a longer message is cut here
/// (the JSON then ends early; the structured data, before it, stays whole).
inline constexpr std::size_t max_datagram = 8192;

/// `value` escaped for an SD-PARAM value (RFC 5424 §6.3.3: '"', '\' and ']' get a backslash).
std::string escape_sd_value(std::string_view value);

/// A printable hostname for the HOSTNAME field: non-printable octets and spaces become '_',
/// cut to 255 octets, "-" when empty.
std::string sanitize_hostname(std::string_view name);

/// `<PRI>1 TIMESTAMP HOSTNAME dockgate PROCID - [dockgate@32473 user=".." operation=".."
/// decision=".."] MSG`, where MSG is `json` (the line the audit file gets). Severity is
/// informational for allowed requests and notice for every other decision.
std::string format_syslog(syslog_origin const& origin, audit_record const& r,
                          std::string_view json);

/// `LEN SP MSG`: one message framed for a TCP or TLS stream.
std::string octet_frame(std::string_view message);

} // namespace dockgate::audit
