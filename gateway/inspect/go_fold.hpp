#pragma once
// Go's case-insensitive matching of JSON object keys to struct fields, and the UTF-8 checks the
// parser needs.
//
// encoding/json matches a key to a field with bytes.EqualFold (Go <= 1.20) or by comparing
// foldName() = ToUpper(ToLower(r)) per rune (Go >= 1.21). Both are Unicode-aware: "ſ" (U+017F)
// matches "s", "K" (U+212A, Kelvin) matches "k", and since 1.21 "ı" and "İ" match "i". The daemon
// may be built with either Go, so fold_key() maps each rune to the representative of the union
// of both relations (generated table, see generate_fold_table.pl): two keys with equal fold_key
// are keys the daemon could read as the same field.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dockgate::inspect {

/// Decodes one UTF-8 sequence at `s[pos]`, advancing `pos`. Returns nullopt (pos unchanged) for
/// anything Go's utf8.DecodeRune would report as RuneError: truncated or overlong sequences,
/// surrogates, values above U+10FFFF.
std::optional<char32_t> decode_utf8(std::string_view s, std::size_t& pos) noexcept;

/// Appends the UTF-8 encoding of a valid scalar value.
void append_utf8(std::string& out, char32_t cp);

/// True when every byte sequence in `s` is valid UTF-8.
bool valid_utf8(std::string_view s) noexcept;

/// The representative of `cp`'s folding class: ASCII letters fold to upper case, "ſ" to 'S',
/// "K" to 'K'; a rune without case folds to itself.
char32_t fold_rune(char32_t cp) noexcept;

/// The folded form of a UTF-8 key (invalid bytes are copied unchanged). Keys that the daemon
/// could match to the same struct field have equal fold_key().
std::string fold_key(std::string_view key);

/// fold_key(a) == fold_key(b), without allocating.
bool fold_equal(std::string_view a, std::string_view b) noexcept;

} // namespace dockgate::inspect
