// lazyload/detail/text.hpp
//
// Internal: the text helpers the monitoring adapters share. Not part of the
// public interface; do not include it directly.
//
// Names are valid UTF-8 (the registry refuses others, detail/utf8.hpp) but
// may hold quotes, backslashes, newlines and control characters; error
// messages and stages are arbitrary bytes, also bytes that are not UTF-8.
// Every output format must stay well formed anyway, so each writer goes
// through `append_escaped()`, which copies valid UTF-8, replaces each byte
// that is not part of a valid sequence with U+FFFD (as nlohmann's
// error_handler_t::replace does), and lets the format decide how to write
// each ASCII character:
//
//   append_json_string()   JSON string literal: `"a\"b\n"`
//   append_label_value()   Prometheus label value: `a\"b\n`
//   append_display()       one terminal line: controls shown as `\n`, `\x1b`
//
// Also here: ISO 8601 timestamps and shortest round-trip numbers, both
// without locale or global state, so that every helper is thread-safe.

#ifndef LAZYLOAD_DETAIL_TEXT_HPP_
#define LAZYLOAD_DETAIL_TEXT_HPP_

#include <charconv>     // std::to_chars
#include <chrono>       // std::chrono::system_clock
#include <cmath>        // std::isnan, std::isinf
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int64_t, std::uint64_t
#include <cstdio>       // std::snprintf
#include <string>       // std::string
#include <string_view>  // std::string_view

#include "utf8.hpp"  // utf8_sequence_length

namespace lazyload {
namespace detail {

// U+FFFD REPLACEMENT CHARACTER, written for each byte that is not UTF-8.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// Appends `in` to `out` as valid UTF-8: ASCII characters go through
// `ascii(out, c)`, which writes them (escaped or not); valid multi-byte
// sequences go through `multibyte(out, sequence)`; every other byte becomes
// U+FFFD.
template <class Ascii, class Multibyte>
void append_escaped(std::string& out, std::string_view in, Ascii ascii,
                    Multibyte multibyte) {
  for (std::size_t i = 0; i < in.size();) {
    const char c = in[i];
    if (static_cast<unsigned char>(c) < 0x80) {
      ascii(out, c);
      ++i;
    } else if (const std::size_t n = utf8_sequence_length(in, i); n != 0) {
      multibyte(out, in.substr(i, n));
      i += n;
    } else {
      out += kReplacementCharacter;
      ++i;
    }
  }
}

template <class Ascii>
void append_escaped(std::string& out, std::string_view in, Ascii ascii) {
  append_escaped(out, in, ascii,
                 [](std::string& o, std::string_view seq) { o += seq; });
}

// Appends `\u00XX` for the code point `code` (below U+0100).
inline void append_unicode_escape(std::string& out, unsigned code) {
  constexpr char kHex[] = "0123456789abcdef";
  out += "\\u00";
  out += kHex[(code >> 4U) & 0xFU];
  out += kHex[code & 0xFU];
}

// Appends `in` as a JSON string literal, quotes included (RFC 8259: `"`, `\`
// and the control characters U+0000 to U+001F are escaped).
inline void append_json_string(std::string& out, std::string_view in) {
  out += '"';
  append_escaped(out, in, [](std::string& o, char c) {
    switch (c) {
    case '"':
      o += "\\\"";
      break;
    case '\\':
      o += "\\\\";
      break;
    case '\b':
      o += "\\b";
      break;
    case '\f':
      o += "\\f";
      break;
    case '\n':
      o += "\\n";
      break;
    case '\r':
      o += "\\r";
      break;
    case '\t':
      o += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        append_unicode_escape(o, static_cast<unsigned char>(c));
      } else {
        o += c;
      }
    }
  });
  out += '"';
}

// Appends `in` as the inside of a Prometheus label value: the text format
// escapes exactly backslash, double quote and line feed.
inline void append_label_value(std::string& out, std::string_view in) {
  append_escaped(out, in, [](std::string& o, char c) {
    switch (c) {
    case '\\':
      o += "\\\\";
      break;
    case '"':
      o += "\\\"";
      break;
    case '\n':
      o += "\\n";
      break;
    default:
      o += c;
    }
  });
}

// Appends `in` for a terminal or a log line: control characters (C0, DEL
// and C1, which terminals would act on) are shown as `\n`, `\t`, `\r` or
// `\xNN` / `\u00NN`, so that a name can neither break a table's lines nor
// send escape sequences.
inline void append_display(std::string& out, std::string_view in) {
  append_escaped(
      out, in,
      [](std::string& o, char c) {
        constexpr char kHex[] = "0123456789abcdef";
        const auto code = static_cast<unsigned char>(c);
        if (c == '\n') {
          o += "\\n";
        } else if (c == '\t') {
          o += "\\t";
        } else if (c == '\r') {
          o += "\\r";
        } else if (code < 0x20 || code == 0x7F) {
          o += "\\x";
          o += kHex[code >> 4U];
          o += kHex[code & 0xFU];
        } else {
          o += c;
        }
      },
      [](std::string& o, std::string_view seq) {
        // U+0080 to U+009F, the C1 controls, are C2 80 to C2 9F.
        const auto second = static_cast<unsigned char>(seq[1]);
        if (seq.size() == 2 && static_cast<unsigned char>(seq[0]) == 0xC2 &&
            second <= 0x9F) {
          append_unicode_escape(o, second);
        } else {
          o += seq;
        }
      });
}

// Returns `in` as append_display() writes it.
inline std::string display(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  append_display(out, in);
  return out;
}

// Appends `value` in the shortest form that reads back as the same double,
// in the C locale ("0.25", "1e+21"); NaN and infinities as Prometheus and Go
// spell them ("NaN", "+Inf", "-Inf").
inline void append_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

inline void append_number(std::string& out, std::uint64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

// Appends `nanoseconds` as microseconds with three decimals ("1234.567"):
// the trace-event format's unit, exact to the nanosecond.
inline void append_microseconds(std::string& out, std::int64_t nanoseconds) {
  if (nanoseconds < 0) {
    out += '-';
    nanoseconds = -nanoseconds;
  }
  const auto ns = static_cast<std::uint64_t>(nanoseconds);
  append_number(out, ns / 1000);
  char fraction[5];
  std::snprintf(fraction, sizeof fraction, ".%03u",
                static_cast<unsigned>(ns % 1000));
  out += fraction;
}

// A day of the proleptic Gregorian calendar.
struct CivilDate {
  std::int64_t year;
  std::int64_t month;  // 1 to 12
  std::int64_t day;    // 1 to 31
};

// Days since 1970-01-01 to year, month and day: Howard Hinnant's
// civil_from_days.
inline CivilDate civil_from_days(std::int64_t days) {
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe =
      (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// "YYYY-MM-DDThh:mm:ss.mmmZ" for a year of four digits, without snprintf:
// a status dump writes one per entry.
inline std::string iso8601_four_digit_year(const CivilDate& date,
                                           std::int64_t ms_in_day) {
  char text[] = "0000-00-00T00:00:00.000Z";
  const auto put = [&text](std::size_t at, std::int64_t value, int digits) {
    for (int i = digits - 1; i >= 0; --i, value /= 10) {
      text[at + static_cast<std::size_t>(i)] =
          static_cast<char>('0' + value % 10);
    }
  };
  put(0, date.year, 4);
  put(5, date.month, 2);
  put(8, date.day, 2);
  put(11, ms_in_day / 3600000, 2);
  put(14, ms_in_day / 60000 % 60, 2);
  put(17, ms_in_day / 1000 % 60, 2);
  put(20, ms_in_day % 1000, 3);
  return {text, sizeof text - 1};
}

// Returns `t` as an ISO 8601 UTC timestamp with milliseconds,
// "2026-11-25T04:35:02.123Z", computed without gmtime (whose result is
// shared).
inline std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  constexpr std::int64_t kMsPerDay = 86400000;
  const std::int64_t ms =
      duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::int64_t days = ms / kMsPerDay;
  std::int64_t in_day = ms % kMsPerDay;
  if (in_day < 0) {
    in_day += kMsPerDay;
    --days;
  }
  const CivilDate date = civil_from_days(days);
  if (date.year >= 0 && date.year <= 9999) {
    return iso8601_four_digit_year(date, in_day);
  }
  char buffer[160];  // room for any 64-bit year, to satisfy -Wformat-truncation
  std::snprintf(buffer, sizeof buffer,
                "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(date.year),
                static_cast<long long>(date.month),
                static_cast<long long>(date.day),
                static_cast<long long>(in_day / 3600000),
                static_cast<long long>(in_day / 60000 % 60),
                static_cast<long long>(in_day / 1000 % 60),
                static_cast<long long>(in_day % 1000));
  return buffer;
}

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_TEXT_HPP_
