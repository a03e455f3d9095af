// The strict reader behind parse_json (see json.hpp for what it refuses and why).

#include <unordered_set>

#include "gateway/inspect/go_fold.hpp"
#include "gateway/inspect/json.hpp"

namespace dockgate::inspect {

namespace {

class parser {
public:
    parser(std::string_view text, json_limits const& limits)
        : text_(text)
        , limits_(limits) {}

    std::variant<json_value, json_error> run() {
        json_value root;
        skip_space();
        if (text_.substr(0, 3) == "\xEF\xBB\xBF")
            return fail("byte order mark before the value");
        if (!parse_value(root, 0))
            return error_;
        skip_space();
        if (pos_ != text_.size())
            return fail("data after the JSON value (send exactly one value)");
        return root;
    }

private:
    json_error fail(std::string reason) {
        if (error_.reason.empty())
            error_ = {pos_, std::move(reason)};
        return error_;
    }

    bool failed(std::string reason) {
        fail(std::move(reason));
        return false;
    }

    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                       text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
    }

    bool parse_value(json_value& out, std::size_t depth) {
        if (++values_ > limits_.max_values)
            return failed("more than " + std::to_string(limits_.max_values) + " JSON values");
        if (pos_ >= text_.size())
            return failed("unexpected end of input");
        switch (text_[pos_]) {
        case '{':
            return parse_object(out, depth + 1);
        case '[':
            return parse_array(out, depth + 1);
        case '"':
            out.kind = json_kind::string;
            return parse_string(out.text);
        case 't':
            return literal("true", out, json_kind::boolean, true);
        case 'f':
            return literal("false", out, json_kind::boolean, false);
        case 'n':
            return literal("null", out, json_kind::null, false);
        default:
            return parse_number(out);
        }
    }

    bool literal(std::string_view word, json_value& out, json_kind kind, bool value) {
        if (text_.substr(pos_, word.size()) != word)
            return failed("invalid literal (expected " + std::string(word) + ")");
        pos_ += word.size();
        out.kind = kind;
        out.boolean = value;
        return true;
    }

    bool digits() {
        std::size_t const start = pos_;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')
            ++pos_;
        return pos_ > start;
    }

    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    bool parse_number(json_value& out) {
        std::size_t const start = pos_;
        if (pos_ < text_.size() && text_[pos_] == '-')
            ++pos_;
        if (pos_ < text_.size() && text_[pos_] == '0') {
            ++pos_;
        } else if (pos_ < text_.size() && text_[pos_] >= '1' && text_[pos_] <= '9') {
            digits();
        } else {
            return failed("invalid character where a value was expected");
        }
        if (pos_ < text_.size() && text_[pos_] == '.') {
            ++pos_;
            if (!digits())
                return failed("invalid number (digits must follow '.')");
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-'))
                ++pos_;
            if (!digits())
                return failed("invalid number (digits must follow the exponent)");
        }
        if (pos_ - start > limits_.max_number_chars)
            return failed("number longer than " + std::to_string(limits_.max_number_chars) +
                          " characters");
        out.kind = json_kind::number;
        out.text.assign(text_.substr(start, pos_ - start));
        return true;
    }

    static int hex(char c) {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    }

    bool hex4(char32_t& out) {
        if (text_.size() - pos_ < 4)
            return failed("truncated \\u escape");
        out = 0;
        for (int i = 0; i < 4; ++i) {
            int const h = hex(text_[pos_ + i]);
            if (h < 0)
                return failed("invalid \\u escape");
            out = (out << 4) | static_cast<char32_t>(h);
        }
        pos_ += 4;
        return true;
    }

    bool parse_string(std::string& out) {
        ++pos_; // opening quote
        out.clear();
        while (true) {
            if (pos_ >= text_.size())
                return failed("unterminated string");
            if (out.size() > limits_.max_string_bytes)
                return failed("string longer than " + std::to_string(limits_.max_string_bytes) +
                              " bytes");
            auto const c = static_cast<unsigned char>(text_[pos_]);
            if (c == '"') {
                ++pos_;
                return true;
            }
            if (c < 0x20)
                return failed("control character in string (escape it)");
            if (c != '\\') {
                std::size_t const start = pos_;
                if (!decode_utf8(text_, pos_))
                    return failed("invalid UTF-8 in string");
                out.append(text_.substr(start, pos_ - start));
                continue;
            }
            ++pos_;
            if (pos_ >= text_.size())
                return failed("unterminated escape");
            char const e = text_[pos_++];
            switch (e) {
            case '"':
                out += '"';
                break;
            case '\\':
                out += '\\';
                break;
            case '/':
                out += '/';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                char32_t cp = 0;
                if (!hex4(cp))
                    return false;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return failed("lone low surrogate escape (the daemon would read U+FFFD)");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    char32_t low = 0;
                    if (text_.substr(pos_, 2) != "\\u")
                        return failed("lone high surrogate escape (the daemon would read U+FFFD)");
                    pos_ += 2;
                    if (!hex4(low))
                        return false;
                    if (low < 0xDC00 || low > 0xDFFF)
                        return failed("high surrogate escape not followed by a low one");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                }
                append_utf8(out, cp);
                break;
            }
            default:
                return failed("invalid escape in string");
            }
        }
    }

    bool enter(std::size_t depth) {
        if (depth > limits_.max_depth)
            return failed("nested deeper than " + std::to_string(limits_.max_depth) + " levels");
        ++pos_; // '[' or '{'
        skip_space();
        return true;
    }

    bool parse_array(json_value& out, std::size_t depth) {
        out.kind = json_kind::array;
        if (!enter(depth))
            return false;
        if (pos_ < text_.size() && text_[pos_] == ']') {
            ++pos_;
            return true;
        }
        while (true) {
            out.items.emplace_back();
            if (!parse_value(out.items.back(), depth))
                return false;
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                ++pos_;
                skip_space();
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == ']') {
                ++pos_;
                return true;
            }
            return failed("expected ',' or ']' in array");
        }
    }

    bool parse_object(json_value& out, std::size_t depth) {
        out.kind = json_kind::object;
        if (!enter(depth))
            return false;
        if (pos_ < text_.size() && text_[pos_] == '}') {
            ++pos_;
            return true;
        }
        std::unordered_set<std::string> folded; // fold_key of every key so far
        while (true) {
            if (pos_ >= text_.size() || text_[pos_] != '"')
                return failed("expected a string key in object");
            std::size_t const key_at = pos_;
            json_member member;
            if (!parse_string(member.key))
                return false;
            if (!folded.insert(fold_key(member.key)).second) {
                pos_ = key_at;
                return failed(duplicate_reason(out, member.key));
            }
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != ':')
                return failed("expected ':' after object key");
            ++pos_;
            skip_space();
            out.members.push_back(std::move(member));
            if (!parse_value(out.members.back().value, depth))
                return false;
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                ++pos_;
                skip_space();
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == '}') {
                ++pos_;
                return true;
            }
            return failed("expected ',' or '}' in object");
        }
    }

    static std::string duplicate_reason(json_value const& obj, std::string const& key) {
        for (auto const& m : obj.members) {
            if (!fold_equal(m.key, key))
                continue;
            if (m.key == key)
                return "duplicate key \"" + printable(key) +
                       "\" (the daemon keeps the last one; send each key once)";
            return "keys \"" + printable(m.key) + "\" and \"" + printable(key) +
                   "\" match the same field under Go's case-insensitive decoding (send one of "
                   "them)";
        }
        return "duplicate key";
    }

    // For messages: keys are valid UTF-8 here, only control characters need hiding.
    static std::string printable(std::string const& s) {
        std::string out;
        for (char c : s.substr(0, 64))
            out += (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') ? '?' : c;
        return s.size() > 64 ? out + "..." : out;
    }

    std::string_view text_;
    json_limits const& limits_;
    std::size_t pos_ = 0;
    std::size_t values_ = 0;
    json_error error_;
};

} // namespace

std::variant<json_value, json_error> parse_json(std::string_view text, json_limits const& limits) {
    return parser(text, limits).run();
}

} // namespace dockgate::inspect
