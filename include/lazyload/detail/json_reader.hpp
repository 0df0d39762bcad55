// lazyload/detail/json_reader.hpp
//
// Internal: a small, strict JSON reader for the files lazyload reads back
// (the usage profile), so that the core needs no JSON library. Input is
// untrusted: depth is limited, and every error says at which byte it is.

#ifndef LAZYLOAD_DETAIL_JSON_READER_HPP_
#define LAZYLOAD_DETAIL_JSON_READER_HPP_

#include <cstddef>      // std::size_t
#include <cstdlib>      // std::strtod
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

#include "../error.hpp"
#include "config.hpp"
#include "throw.hpp"

namespace lazyload {
namespace detail {

struct JsonValue {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  double number = 0;
  std::string string;
  // An array's items, or an object's member values (named by `keys`).
  std::vector<JsonValue> items;
  std::vector<std::string> keys;

  // The member named `key`, or nullptr (also when this is not an object).
  const JsonValue* find(std::string_view key) const;
};

inline const JsonValue* JsonValue::find(std::string_view key) const {
  if (kind != Kind::object) return nullptr;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) return &items[i];
  }
  return nullptr;
}

// Parses `text` as one JSON value; throws LazyError("... at byte N").
class JsonReader {
 public:
  static JsonValue parse(std::string_view text) {
    JsonReader r(text);
    JsonValue v = r.value(0);
    r.skip_space();
    if (r.at_ != text.size()) r.fail("unexpected text after the value");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;

  explicit JsonReader(std::string_view text) : text_(text) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw_error<LazyError>(what + " at byte " + std::to_string(at_));
  }

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

  // One value of any kind; recursive descent, `depth` levels deep.
  // NOLINTNEXTLINE(misc-no-recursion): bounded by kMaxDepth
  JsonValue value(int depth) {
    if (depth > kMaxDepth) fail("nesting too deep");
    skip_space();
    if (at_ >= text_.size()) fail("unexpected end");
    JsonValue v;
    const char c = text_[at_];
    if (c == '{') {
      ++at_;
      v.kind = JsonValue::Kind::object;
      if (take('}')) return v;
      do {
        skip_space();
        v.keys.push_back(string());
        expect(':');
        v.items.push_back(value(depth + 1));
      } while (take(','));
      expect('}');
    } else if (c == '[') {
      ++at_;
      v.kind = JsonValue::Kind::array;
      if (take(']')) return v;
      do {
        v.items.push_back(value(depth + 1));
      } while (take(','));
      expect(']');
    } else if (c == '"') {
      v.kind = JsonValue::Kind::string;
      v.string = string();
    } else if (take_word("true") || take_word("false")) {
      v.kind = JsonValue::Kind::boolean;
      v.boolean = c == 't';
    } else if (take_word("null")) {
      v.kind = JsonValue::Kind::null;
    } else {
      v.kind = JsonValue::Kind::number;
      v.number = number();
    }
    return v;
  }

  double number() {
    const std::size_t start = at_;
    if (at_ < text_.size() && text_[at_] == '-') ++at_;
    while (at_ < text_.size() &&
           std::string_view("0123456789.eE+-").find(text_[at_]) !=
               std::string_view::npos) {
      ++at_;
    }
    const std::string digits(text_.substr(start, at_ - start));
    if (digits.empty() || digits == "-") {
      at_ = start;
      fail("expected a value");
    }
    char* end = nullptr;
    const double d = std::strtod(digits.c_str(), &end);
    if (end != digits.c_str() + digits.size()) {
      at_ = start;
      fail("malformed number");
    }
    return d;
  }

  // A string, from its opening quote to its closing one.
  std::string string() {
    if (at_ >= text_.size() || text_[at_] != '"') fail("expected a string");
    ++at_;
    std::string out;
    for (;;) {
      if (at_ >= text_.size()) fail("unterminated string");
      const char c = text_[at_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20)
        fail("control character in string");
      if (c == '\\') {
        append_escape(out);
      } else {
        out += c;
      }
    }
  }

  // Appends what the escape sequence at `at_`, just past its backslash,
  // stands for.
  void append_escape(std::string& out) {
    if (at_ >= text_.size()) fail("unterminated string");
    const char e = text_[at_++];
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
    case 'u':
      append_utf8(out, code_point());
      break;
    default:
      fail("bad escape");
    }
  }

  unsigned hex4() {
    if (text_.size() - at_ < 4) fail("bad \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[at_++];
      v <<= 4;
      if (h >= '0' && h <= '9')
        v |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f')
        v |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        v |= static_cast<unsigned>(h - 'A' + 10);
      else
        fail("bad \\u escape");
    }
    return v;
  }

  unsigned code_point() {
    unsigned cp = hex4();
    if (cp >= 0xD800 && cp <= 0xDBFF && text_.substr(at_, 2) == "\\u") {
      at_ += 2;
      const unsigned low = hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail("bad surrogate pair");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
      cp = 0xFFFD;  // a lone surrogate
    }
    return cp;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view text_;
  std::size_t at_ = 0;
};

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_JSON_READER_HPP_
