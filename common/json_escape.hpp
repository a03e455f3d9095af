#pragma once
// JSON string escaping (RFC 8259), shared by local replies, the audit trail and the canonical
// bodies the policy forwards.

#include <string>
#include <string_view>

namespace dockgate {

/// Appends `text` as a quoted JSON string. `text` is expected to be valid UTF-8 (checked by
/// the caller where it comes from a peer); control characters are escaped.
void append_json_string(std::string& out, std::string_view text);

} // namespace dockgate
