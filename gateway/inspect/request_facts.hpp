#pragma once
// What a judged request asked of the host, summarised for the audit line's "request" object:
// the facts the role constraints judge (image, user, capabilities, bind sources, namespaces,
// ...), normalised as the judge reads them, so that `dockgate learn` can propose the tightest
// constraints that still admit the request.
//
// Bounded: at most max_fact_items entries per list and max_fact_bytes per string; a list or
// string that was cut sets "truncated": true. Never secrets: no Env values, labels, commands,
// driver option values or registry auth, only the names constraints are written in.
//
// Pure: no I/O, no exceptions but std::bad_alloc. Any thread.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "gateway/inspect/go_query.hpp"

namespace dockgate::inspect {

inline constexpr std::size_t max_fact_items = 32;
inline constexpr std::size_t max_fact_bytes = 256;

/// The facts of `operation` as one compact JSON object, from its query and the body the daemon
/// receives; "" for an operation that has none to record. A body that does not parse gives
/// {"unreadable":true}.
std::string request_facts(std::string_view operation, std::span<query_param const> query,
                          std::string_view body);

} // namespace dockgate::inspect
