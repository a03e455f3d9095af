// The canonical writer and the field lookups of json.hpp.

#include "common/json_escape.hpp"
#include "gateway/inspect/go_fold.hpp"
#include "gateway/inspect/json.hpp"

namespace dockgate::inspect {

json_value json_value::make_string(std::string s) {
    json_value v;
    v.kind = json_kind::string;
    v.text = std::move(s);
    return v;
}

json_value json_value::make_object() {
    json_value v;
    v.kind = json_kind::object;
    return v;
}

json_value json_value::make_array() {
    json_value v;
    v.kind = json_kind::array;
    return v;
}

namespace {

// Escaping as everywhere else the gateway writes JSON; input is valid UTF-8 (checked by the
// parser, or built by the gateway).
void write_string(std::string& out, std::string_view s) {
    append_json_string(out, s);
}

// Depth is bounded by the parser's limit (plus the few levels mutations add), so recursion is
// safe.
void write_value(std::string& out, json_value const& v) {
    switch (v.kind) {
    case json_kind::null:
        out += "null";
        break;
    case json_kind::boolean:
        out += v.boolean ? "true" : "false";
        break;
    case json_kind::number:
        out += v.text;
        break;
    case json_kind::string:
        write_string(out, v.text);
        break;
    case json_kind::array:
        out += '[';
        for (std::size_t i = 0; i < v.items.size(); ++i) {
            if (i > 0)
                out += ',';
            write_value(out, v.items[i]);
        }
        out += ']';
        break;
    case json_kind::object:
        out += '{';
        for (std::size_t i = 0; i < v.members.size(); ++i) {
            if (i > 0)
                out += ',';
            write_string(out, v.members[i].key);
            out += ':';
            write_value(out, v.members[i].value);
        }
        out += '}';
        break;
    }
}

} // namespace

std::string write_json(json_value const& v) {
    std::string out;
    write_value(out, v);
    return out;
}

json_value* find_field(json_value& obj, std::string_view name) {
    for (auto& m : obj.members) {
        if (fold_equal(m.key, name)) {
            if (m.key != name)
                m.key.assign(name);
            return &m.value;
        }
    }
    return nullptr;
}

json_value* find_key(json_value& obj, std::string_view key) {
    for (auto& m : obj.members) {
        if (m.key == key)
            return &m.value;
    }
    return nullptr;
}

void set_field(json_value& obj, std::string_view key, json_value value) {
    if (auto* existing = find_field(obj, key)) {
        *existing = std::move(value);
        return;
    }
    obj.members.push_back({std::string(key), std::move(value)});
}

} // namespace dockgate::inspect
