// lazyload/detail/json_reader.hpp
//
// Internal: a small, strict JSON reader for the files lazyload reads back
// (the usage profile), so that the core needs no JSON library. Input is
// untrusted: depth is limited, and every error says at which byte it is.
//
// It is a pull reader: the caller walks the document (begin_object(),
// next_member(), read_string(), skip_value(), ...) and keeps only what it
// wants, so reading needs no memory beyond the caller's own results. (A tree
// of nodes, one per value, took about 50 times the input's size: `[0,0,...`
// spends two bytes per value.) Numbers are read with std::from_chars, so
// the locale never changes what "0.25" means.

#ifndef LAZYLOAD_DETAIL_JSON_READER_HPP_
#define LAZYLOAD_DETAIL_JSON_READER_HPP_

#include <array>         // std::array
#include <charconv>      // std::from_chars
#include <cstddef>       // std::size_t
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::errc

#include "../error.hpp"
#include "config.hpp"
#include "throw.hpp"

namespace lazyload {
namespace detail {

// Reads one JSON text; every member throws LazyError("... at byte N") on
// input that is not what it expects.
//
//   JsonReader r(text);
//   r.begin_object();
//   std::string key;
//   while (r.next_member(key)) {
//     if (key == "name") name = r.read_string(); else r.skip_value();
//   }
//   r.end();
class JsonReader {
 public:
  enum class Kind { null, boolean, number, string, array, object };

  explicit JsonReader(std::string_view text) : text_(text) {}

  // The kind of the next value, judged by its first character; for a
  // number (or something that is no value at all), Kind::number.
  Kind peek() {
    skip_space();
    if (at_ >= text_.size()) fail("unexpected end");
    switch (text_[at_]) {
    case '{':
      return Kind::object;
    case '[':
      return Kind::array;
    case '"':
      return Kind::string;
    case 't':
    case 'f':
      return Kind::boolean;
    case 'n':
      return Kind::null;
    default:
      return Kind::number;
    }
  }

  // Enters an object; next_member() then walks its members.
  void begin_object() { open('{'); }

  // Reads the next member's key into `key` and returns true, leaving the
  // reader at its value (which the caller must read or skip); returns false
  // at the object's end, which it leaves.
  bool next_member(std::string& key) {
    if (!next('}')) return false;
    skip_space();
    key.clear();
    string(&key);
    expect(':');
    return true;
  }

  // Enters an array; next_item() then walks its items.
  void begin_array() { open('['); }

  // Returns true with the reader at the next item (which the caller must
  // read or skip); false at the array's end, which it leaves.
  bool next_item() { return next(']'); }

  std::string read_string() {
    skip_space();
    std::string out;
    string(&out);
    return out;
  }

  double read_number() {
    skip_space();
    return number();
  }

  bool read_boolean() {
    skip_space();
    if (take_word("true")) return true;
    if (take_word("false")) return false;
    fail("expected true or false");
  }

  // Skips one value of any kind, checking its syntax and depth.
  // NOLINTNEXTLINE(misc-no-recursion): bounded by kMaxDepth, see open()
  void skip_value() {
    switch (peek()) {
    case Kind::object: {
      begin_object();
      while (next('}')) {
        skip_space();
        string(nullptr);
        expect(':');
        skip_value();
      }
      break;
    }
    case Kind::array:
      begin_array();
      while (next_item()) skip_value();
      break;
    case Kind::string:
      string(nullptr);
      break;
    case Kind::boolean:
      (void)read_boolean();
      break;
    case Kind::null:
      if (!take_word("null")) fail("expected a value");
      break;
    case Kind::number:
      (void)number();
      break;
    }
  }

  // Checks that nothing but white space follows the value read.
  void end() {
    skip_space();
    if (at_ != text_.size()) fail("unexpected text after the value");
  }

  // Throws LazyError("`what` at byte N") for the reader's position.
  [[noreturn]] void fail(const std::string& what) const {
    throw_error<LazyError>(what + " at byte " + std::to_string(at_));
  }

 private:
  static constexpr int kMaxDepth = 64;

  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' ||
                                  text_[at_] == '\n' || text_[at_] == '\r')) {
      ++at_;
    }
  }

  bool take(char c) {
    skip_space();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!take(c)) fail(std::string("expected '") + c + "'");
  }

  bool take_word(std::string_view word) {
    if (text_.substr(at_, word.size()) == word) {
      at_ += word.size();
      return true;
    }
    return false;
  }

  // Enters an object or array that starts with `c`, one level deeper.
  void open(char c) {
    skip_space();
    if (depth_ >= kMaxDepth) fail("nesting too deep");
    expect(c);
    first_[static_cast<std::size_t>(depth_++)] = true;
  }

  // Before each member or item of the innermost object or array: false
  // (and one level up) at `close`, else true past the comma, if any.
  bool next(char close) {
    if (depth_ == 0) fail("not in an object or array");
    bool& first = first_[static_cast<std::size_t>(depth_ - 1)];
    if (take(close)) {
      --depth_;
      return false;
    }
    if (!first) expect(',');
    first = false;
    return true;
  }

  // A number as JSON spells it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  double number() {
    const std::size_t start = at_;
    const auto digits = [this] {
      const std::size_t from = at_;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') {
        ++at_;
      }
      return at_ - from;
    };
    if (at_ < text_.size() && text_[at_] == '-') ++at_;
    const std::size_t integer_start = at_;
    const std::size_t integer_digits = digits();
    if (integer_digits == 0) {
      at_ = start;
      fail("expected a value");
    }
    bool malformed = integer_digits > 1 && text_[integer_start] == '0';
    if (at_ < text_.size() && text_[at_] == '.') {
      ++at_;
      malformed |= digits() == 0;
    }
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      ++at_;
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) {
        ++at_;
      }
      malformed |= digits() == 0;
    }
    double value = 0;
    const char* first = text_.data() + start;
    const char* last = text_.data() + at_;
    const auto result = std::from_chars(first, last, value);
    if (malformed || result.ec != std::errc() || result.ptr != last) {
      at_ = start;
      fail(result.ec == std::errc::result_out_of_range ? "number out of range"
                                                       : "malformed number");
    }
    return value;
  }

  // A string, from its opening quote to its closing one, appended to `out`
  // (or only checked, if `out` is null).
  void string(std::string* out) {
    if (at_ >= text_.size() || text_[at_] != '"') fail("expected a string");
    ++at_;
    for (;;) {
      // The run of plain characters up to the next quote, backslash or end.
      const std::size_t run = at_;
      while (at_ < text_.size() && text_[at_] != '"' && text_[at_] != '\\' &&
             static_cast<unsigned char>(text_[at_]) >= 0x20) {
        ++at_;
      }
      if (out != nullptr) out->append(text_, run, at_ - run);
      if (at_ >= text_.size()) fail("unterminated string");
      const char c = text_[at_];
      if (c == '"') {
        ++at_;
        return;
      }
      if (c != '\\') fail("control character in string");
      ++at_;
      append_escape(out);
    }
  }

  // Appends what the escape sequence at `at_`, just past its backslash,
  // stands for (to nothing, if `out` is null).
  void append_escape(std::string* out) {
    if (at_ >= text_.size()) fail("unterminated string");
    const char e = text_[at_++];
    char plain = 0;
    switch (e) {
    case '"':
    case '\\':
    case '/':
      plain = e;
      break;
    case 'b':
      plain = '\b';
      break;
    case 'f':
      plain = '\f';
      break;
    case 'n':
      plain = '\n';
      break;
    case 'r':
      plain = '\r';
      break;
    case 't':
      plain = '\t';
      break;
    case 'u': {
      const unsigned cp = code_point();
      if (out != nullptr) append_utf8(*out, cp);
      return;
    }
    default:
      --at_;
      fail("bad escape");
    }
    if (out != nullptr) *out += plain;
  }

  unsigned hex4() {
    if (text_.size() - at_ < 4) fail("bad \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[at_++];
      v <<= 4U;
      if (h >= '0' && h <= '9') {
        v |= static_cast<unsigned>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        v |= static_cast<unsigned>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        v |= static_cast<unsigned>(h - 'A' + 10);
      } else {
        fail("bad \\u escape");
      }
    }
    return v;
  }

  unsigned code_point() {
    unsigned cp = hex4();
    if (cp >= 0xD800 && cp <= 0xDBFF && text_.substr(at_, 2) == "\\u") {
      at_ += 2;
      const unsigned low = hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail("bad surrogate pair");
      cp = 0x10000 + ((cp - 0xD800) << 10U) + (low - 0xDC00);
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
      cp = 0xFFFD;  // a lone surrogate
    }
    return cp;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6U));
      out += static_cast<char>(0x80 | (cp & 0x3FU));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12U));
      out += static_cast<char>(0x80 | ((cp >> 6U) & 0x3FU));
      out += static_cast<char>(0x80 | (cp & 0x3FU));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18U));
      out += static_cast<char>(0x80 | ((cp >> 12U) & 0x3FU));
      out += static_cast<char>(0x80 | ((cp >> 6U) & 0x3FU));
      out += static_cast<char>(0x80 | (cp & 0x3FU));
    }
  }

  std::string_view text_;
  std::size_t at_ = 0;
  int depth_ = 0;
  // first_[d]: whether the object or array at depth d has had no member yet.
  std::array<bool, kMaxDepth> first_{};
};

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_JSON_READER_HPP_
