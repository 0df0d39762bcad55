// lazyload/detail/utf8.hpp
//
// Internal: UTF-8 validation, for the registry (which refuses names that are
// not UTF-8) and for the text helpers of the monitoring adapters
// (detail/text.hpp). Not part of the public interface; do not include it
// directly.
//
// Rationale: a registry name is a key in the status JSON, a Prometheus label
// value, a path segment of the HTTP routes and a string in warm-start
// profiles. Every one of those formats is UTF-8, and the only way to write
// other bytes there is to replace them (U+FFFD), which makes distinct names
// print alike: duplicate JSON keys, identical series, buttons that post a
// name that does not exist. So `LazyRegistry::add()` refuses such names, and
// says where the fault is without echoing the invalid bytes. Control
// characters are valid UTF-8 and are taken: every writer escapes them.

#ifndef LAZYLOAD_DETAIL_UTF8_HPP_
#define LAZYLOAD_DETAIL_UTF8_HPP_

#include <cstddef>      // std::size_t
#include <string>       // std::string, std::to_string
#include <string_view>  // std::string_view

#include "../error.hpp"  // LazyError
#include "throw.hpp"     // throw_error, quoted

namespace lazyload {
namespace detail {

// Returns the length (2 to 4) of the valid, shortest-form UTF-8 sequence
// that starts at s[i] with a byte >= 0x80, or 0 if there is none (a stray
// continuation byte, an overlong form, a surrogate, a code point above
// U+10FFFF, or a sequence cut short).
inline std::size_t utf8_sequence_length(std::string_view s,
                                        std::size_t i) noexcept {
  const auto lead = static_cast<unsigned char>(s[i]);
  std::size_t length = 0;
  unsigned char low = 0x80;  // bounds of the second byte
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() - i < length) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto byte = static_cast<unsigned char>(s[i + k]);
    const unsigned char lo = k == 1 ? low : 0x80;
    const unsigned char hi = k == 1 ? high : 0xBF;
    if (byte < lo || byte > hi) return 0;
  }
  return length;
}

// Returns the offset of the first byte of `s` that is not part of a valid
// UTF-8 sequence, or std::string_view::npos if `s` is valid UTF-8.
inline std::size_t first_invalid_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
    } else if (const std::size_t n = utf8_sequence_length(s, i); n != 0) {
      i += n;
    } else {
      return i;
    }
  }
  return std::string_view::npos;
}

// Returns `s` with each byte that is not part of a valid UTF-8 sequence
// written as `\xHH` (lower-case hex), so that the result is valid UTF-8.
inline std::string escape_invalid_utf8(std::string_view s) {
  constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto byte = static_cast<unsigned char>(s[i]);
    std::size_t n = byte < 0x80 ? 1 : utf8_sequence_length(s, i);
    if (n != 0) {
      out += s.substr(i, n);
    } else {
      out += "\\x";
      out += kHex[byte >> 4U];
      out += kHex[byte & 0xFU];
      n = 1;
    }
    i += n;
  }
  return out;
}

// Throws LazyError if the resource name `name` is not valid UTF-8, naming
// the offset of the first bad byte and showing the name with the bad bytes
// escaped.
inline void check_name_is_utf8(std::string_view name) {
  const std::size_t bad = first_invalid_utf8(name);
  if (LAZYLOAD_PREDICT_TRUE(bad == std::string_view::npos)) return;
  throw_error<LazyError>("lazyload: resource name " +
                         quoted(escape_invalid_utf8(name)) +
                         " is not valid UTF-8 at byte " + std::to_string(bad));
}

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_UTF8_HPP_
