// Any byte string as a request target: canonicalize_target must not crash, and whatever it
// accepts must be stable (canonicalising the canonical form gives the same segments) and routable
// without surprises.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/engine_api/route_table.hpp"
#include "gateway/http/canonical_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const raw(reinterpret_cast<char const*>(data), size);
    auto first = dockgate::http::canonicalize_target(raw);
    auto* ok = std::get_if<dockgate::http::canonical_target>(&first);
    if (ok == nullptr)
        return 0;
    auto again = dockgate::http::canonicalize_target(ok->target());
    auto* ok2 = std::get_if<dockgate::http::canonical_target>(&again);
    if (ok2 == nullptr || ok2->segments != ok->segments || ok2->path != ok->path ||
        ok2->query != ok->query)
        std::abort(); // the forwarded form must read the same way
    for (auto const* method : {"GET", "POST", "DELETE", "HEAD", "PUT"})
        (void)dockgate::engine_api::route_table::engine_api().match(method, ok->segments);
    return 0;
}
