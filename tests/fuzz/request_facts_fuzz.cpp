// Any bytes as a judged request's body, and the same bytes as audit lines: the audit line's
// "request" object stays one bounded JSON object, and `dockgate learn` reads anything without
// crashing. The first byte picks the operation.

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include <boost/json/parse.hpp>

#include "gateway/inspect/request_facts.hpp"
#include "gateway/learn/learner.hpp"

namespace {

using namespace dockgate;

constexpr std::string_view operations[] = {"ContainerCreate", "ContainerExec", "VolumeCreate",
                                           "ImageCreate",     "ImageTag",      "ImageCommit"};

// Every string of the facts is within max_fact_bytes, every list within max_fact_items.
bool bounded(boost::json::value const& v) {
    if (v.is_string())
        return v.as_string().size() <= inspect::max_fact_bytes;
    if (v.is_array()) {
        if (v.as_array().size() > inspect::max_fact_items)
            return false;
        for (auto const& item : v.as_array()) {
            if (!bounded(item))
                return false;
        }
    }
    if (v.is_object()) {
        for (auto const& m : v.as_object()) {
            if (!bounded(m.value()))
                return false;
        }
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    if (size == 0)
        return 0;
    std::string_view const text(reinterpret_cast<char const*>(data) + 1, size - 1);
    auto const op = operations[data[0] % std::size(operations)];

    // The query is the same bytes read as a query string, so image names come from the input too.
    auto query = inspect::parse_go_query(text);
    std::vector<inspect::query_param> params;
    if (auto* p = std::get_if<std::vector<inspect::query_param>>(&query))
        params = std::move(*p);
    auto const facts = inspect::request_facts(op, params, text);
    if (!facts.empty()) {
        boost::system::error_code ec;
        auto const v = boost::json::parse(facts, ec);
        if (ec || !v.is_object() || !bounded(v))
            std::abort();
    }

    std::istringstream in{std::string(text)};
    learn::options opt;
    opt.user = "alice";
    (void)learn::learn(in, opt);
    return 0;
}
