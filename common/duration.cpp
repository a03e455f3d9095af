#include "common/duration.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

namespace dockgate {

std::optional<duration> parse_duration(std::string_view text) {
    std::uint64_t value = 0;
    auto const* first = text.data();
    auto const* last = text.data() + text.size();
    auto [end, ec] = std::from_chars(first, last, value);
    if (ec != std::errc{} || end == first)
        return std::nullopt;
    std::string_view const unit(end, static_cast<std::size_t>(last - end));
    std::uint64_t scale = 0;
    if (unit == "ms")
        scale = 1;
    else if (unit == "s")
        scale = 1000;
    else if (unit == "m")
        scale = 60'000;
    else if (unit == "h")
        scale = 3'600'000;
    else if (unit == "d")
        scale = 86'400'000;
    else
        return std::nullopt;
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<duration::rep>::max());
    if (value > max / scale)
        return std::nullopt;
    return duration{static_cast<duration::rep>(value * scale)};
}

std::string format_duration(duration d) {
    auto const ms = d.count();
    struct unit {
        long long scale;
        char const* name;
    };
    for (auto [scale, name] :
         {unit{86'400'000, "d"}, unit{3'600'000, "h"}, unit{60'000, "m"}, unit{1000, "s"}}) {
        if (ms != 0 && ms % scale == 0)
            return std::to_string(ms / scale) + name;
    }
    return std::to_string(ms) + "ms";
}

} // namespace dockgate
