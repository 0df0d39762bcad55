// lazyload/fmt.hpp
//
// {fmt} formatters for `lazyload::Status` and `lazyload::RegistrySnapshot`:
// status words for log lines, and an aligned status table for logs and
// terminals. Link `lazyload::fmt` to use it.
//
// Example Usage:
//
//   #include <lazyload/fmt.hpp>
//   #include <lazyload/registry.hpp>  // for a registry to render
//
//   fmt::print("{} is {}\n", name, registry.entry(name).status());
//   fmt::print("{:>8}|\n", lazyload::Status::loaded);   // "  loaded|"
//   fmt::print("{}\n", registry.snapshot());
//
//   NAME   STATUS   PRIORITY  LOAD TIME  PROGRESS      SIZE  DETAILS  ERROR
//   torch  loaded          1    5.804 s  100% ready 64.0 MiB  type=M...
//   bert   loading         2          -  40% weights      -  type=M...
//   db     failed        100   300.0 ms  0%               -  type=C...
//   3 entries: 1 loaded, 1 loading, 0 queued, 1 failed, 0 unloaded (33.3...
//                                             (long lines cut at 80 columns)
//
// Rationale:
//
// * {fmt}'s extension point is a `fmt::formatter` specialization, declared
//   in namespace fmt as fmt/std.h does for std::thread::id, so the types
//   format in fmt::format, fmt::print and spdlog alike.
// * The status formatter is the string_view formatter, so width, fill and
//   alignment work as for any string.
// * The table is for people: names and errors are shown with control
//   characters escaped (a name with a newline or an escape sequence cannot
//   break the table or the terminal), bytes that are not UTF-8 as U+FFFD, and
//   columns are padded by display width as fmt measures it. For machines,
//   use json.hpp or prometheus.hpp.
// * Every field of the list in detail/snapshot_fields.hpp is shown: the
//   ones people scan have a column (NAME, STATUS, PRIORITY, LOAD TIME,
//   PROGRESS with the stage, SIZE, ERROR); the long tail goes in DETAILS
//   as `name=value` (a flag as its bare name), in the list's order and
//   units, and the totals' tail (is_loading, pressure, rss_bytes) at the
//   end of the summary line the same way. A `name=value` whose value is
//   not known, zero, false or empty is left out, so a row stays short.
// * PROGRESS shows 100% for a loaded entry even when its loader reported
//   nothing, the reported fraction and stage while loading or after a
//   failure, and `-` otherwise. The table has no trailing newline, so that
//   it fits `logger->info("status:\n{}", snapshot)`.

#ifndef LAZYLOAD_FMT_HPP_
#define LAZYLOAD_FMT_HPP_

#include <fmt/format.h>  // fmt::formatter, fmt::format_to

#include <algorithm>    // std::copy, std::find, std::max
#include <array>        // std::array
#include <chrono>       // std::chrono::system_clock
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

#include "detail/snapshot_fields.hpp"
#include "detail/text.hpp"
#include "memory_pressure.hpp"
#include "snapshot.hpp"
#include "status.hpp"

namespace lazyload {
namespace detail {
std::string status_table(const RegistrySnapshot& snapshot);
}  // namespace detail
}  // namespace lazyload

namespace fmt {

// fmt::formatter<lazyload::Status>
//
// Formats a status as its word ("loaded"), with the specs of a string:
// `{:>8}`, `{:-^10}`.
// Thread safety: safe to call concurrently.
// Throws: fmt::format_error on a spec a string does not take.
// Invalidates: none.
template <> struct formatter<lazyload::Status> : formatter<string_view> {
  template <class FormatContext>
  auto format(lazyload::Status status, FormatContext& ctx) const
      -> decltype(ctx.out()) {
    const std::string_view word = lazyload::to_string(status);
    return formatter<string_view>::format(string_view(word.data(), word.size()),
                                          ctx);
  }
};

// fmt::formatter<lazyload::RegistrySnapshot>
//
// Formats a snapshot as an aligned table: a header, one row per entry in
// registration order (name, status, priority, load time, progress and stage,
// size, details, error), and a summary line; lines end in '\n' except the
// last. Every field of a snapshot is in it (see the header comment). Takes
// no format spec: `{}`.
// Thread safety: safe to call concurrently.
// Throws: fmt::format_error on a format spec; std::bad_alloc.
// Invalidates: none.
template <> struct formatter<lazyload::RegistrySnapshot> {
  static constexpr auto parse(format_parse_context& ctx)
      -> decltype(ctx.begin()) {
    const auto* it = ctx.begin();
    if (it != ctx.end() && *it != '}') {
      FMT_THROW(format_error(
          "lazyload: a registry snapshot takes no format spec, use '{}'"));
    }
    return it;
  }

  template <class FormatContext>
  auto format(const lazyload::RegistrySnapshot& snapshot,
              FormatContext& ctx) const -> decltype(ctx.out()) {
    const std::string table = lazyload::detail::status_table(snapshot);
    return std::copy(table.begin(), table.end(), ctx.out());
  }
};

}  // namespace fmt

// End of public interfaces.
// Implementation details follow.

namespace lazyload {
namespace detail {

// Returns the width of `text` in terminal columns, as fmt counts it when it
// pads (wide East Asian characters count 2): the padding fmt adds to reach a
// width larger than any text's tells the text's own width.
inline std::size_t display_width(std::string_view text) {
  const std::size_t wide = text.size() * 2 + 1;
  const std::size_t padded = fmt::formatted_size(
      "{:<{}}", fmt::string_view(text.data(), text.size()), wide);
  return wide - (padded - text.size());
}

// Returns "512 B", "4.0 KiB", "1.5 GiB"; "-" for 0 (unknown).
inline std::string human_bytes(std::size_t bytes) {
  if (bytes == 0) return "-";
  if (bytes < 1024) return fmt::format("{} B", bytes);
  constexpr std::array<const char*, 5> kUnits = {"KiB", "MiB", "GiB", "TiB",
                                                 "PiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < kUnits.size()) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

// Returns "850 us", "211.1 ms", "5.804 s".
inline std::string human_seconds(double seconds) {
  if (seconds < 1e-3) return fmt::format("{:.0f} us", seconds * 1e6);
  if (seconds < 1.0) return fmt::format("{:.1f} ms", seconds * 1e3);
  return fmt::format("{:.3f} s", seconds);
}

// The PROGRESS cell: see the header comment.
inline std::string progress_cell(const EntrySnapshot& e) {
  std::string cell;
  if (e.status == Status::loaded) {
    cell = "100%";
  } else if (e.status == Status::loading || e.status == Status::failed) {
    cell = fmt::format("{:.0f}%", e.progress * 100.0);
  } else {
    return "-";
  }
  if (!e.stage.empty()) {
    cell += ' ';
    append_display(cell, e.stage);
  }
  return cell;
}

// The fields that have a column, or a place in the prose of the summary
// line; DETAILS and the end of the summary show the others.
inline constexpr std::array<std::string_view, 8> kColumnFields = {
    "name",     "status", "priority",   "load_time",
    "progress", "stage",  "size_bytes", "error"};
inline constexpr std::array<std::string_view, 12> kSummaryFields = {
    "total",         "loaded",
    "failed",        "loading",
    "queued",        "unloaded",
    "progress",      "bytes_loaded",
    "memory_budget", "budget_overshoots",
    "ready",         "not_ready"};

// Writes the fields of the list that `shown` leaves out as `name=value`
// tokens separated by spaces, in the units people read; a value that is not
// known, zero, false or empty is left out, and a true flag is its name.
template <std::size_t N> class DetailTokens {
 public:
  explicit DetailTokens(const std::array<std::string_view, N>& shown)
      : shown_(shown) {}

  template <class Value> void field(const Field& f, const Value& value) {
    if (std::find(shown_.begin(), shown_.end(), f.name) != shown_.end()) {
      return;
    }
    token(f, value);
  }

  const std::string& text() const { return text_; }

 private:
  template <class Value>
  void token(const Field& f, const std::optional<Value>& value) {
    if (value) token(f, *value);
  }
  void token(const Field& f, bool flag) {
    if (flag) start(f, false);
  }
  void token(const Field& f, std::string_view text) {
    if (text.empty()) return;
    start(f);
    append_display(text_, text);
  }
  void token(const Field& f, const std::vector<std::string>& list) {
    if (list.empty()) return;
    start(f);
    const char* separator = "";
    for (const std::string& item : list) {
      text_ += separator;
      append_display(text_, item);
      separator = ",";
    }
  }
  void token(const Field& f, Status status) { start(f) += to_string(status); }
  void token(const Field& f, PressureLevel level) {
    if (level != PressureLevel::normal) start(f) += to_string(level);
  }
  void token(const Field& f, std::chrono::system_clock::time_point t) {
    start(f) += iso8601_utc(t);
  }
  void token(const Field& f, int value) {
    start(f) += fmt::format("{}", value);
  }
  void token(const Field& f, std::uint64_t value) {
    if (value == 0) return;
    start(f) +=
        f.unit == Unit::bytes ? human_bytes(value) : fmt::format("{}", value);
  }
  void token(const Field& f, double value) {
    if (value == 0.0) return;
    if (f.unit == Unit::seconds) {
      start(f) += human_seconds(value);
    } else if (f.unit == Unit::ratio) {
      start(f) += fmt::format("{:.0f}%", value * 100.0);
    } else {
      start(f) += fmt::format("{}", value);
    }
  }

  // Starts a token: a space, the name, and '=' unless it is a flag.
  std::string& start(const Field& f, bool with_value = true) {
    if (!text_.empty()) text_ += ' ';
    text_ += f.name;
    if (with_value) text_ += '=';
    return text_;
  }

  const std::array<std::string_view, N>& shown_;
  std::string text_;
};

// The DETAILS cell of an entry.
inline std::string details_cell(const EntrySnapshot& e) {
  DetailTokens<kColumnFields.size()> tokens(kColumnFields);
  for_each_entry_field(e, tokens);
  return tokens.text();
}

// "; not ready: 'a', 'b'" or "; ready", for the summary line.
inline void append_readiness(std::string& line,
                             const std::vector<std::string>& not_ready) {
  if (not_ready.empty()) {
    line += "; ready";
    return;
  }
  line += "; not ready:";
  const char* separator = " ";
  for (const std::string& name : not_ready) {
    line += separator;
    line += '\'';
    append_display(line, name);
    line += '\'';
    separator = ", ";
  }
}

// The summary line under the table.
inline std::string summary_line(const RegistrySnapshot& s) {
  std::string line = fmt::format(
      "{} {}: {} loaded, {} loading, {} queued, {} failed, {} unloaded "
      "({:.1f}%); {} loaded",
      s.total, s.total == 1 ? "entry" : "entries", s.loaded, s.loading,
      s.queued, s.failed, s.unloaded, 100.0 * s.progress,
      s.bytes_loaded == 0 ? "0 B" : human_bytes(s.bytes_loaded));
  if (s.memory_budget != 0) {
    line += fmt::format(" of {} budget", human_bytes(s.memory_budget));
  }
  if (s.budget_overshoots != 0) {
    line += fmt::format(" ({} over)", s.budget_overshoots);
  }
  append_readiness(line, s.not_ready);
  DetailTokens<kSummaryFields.size()> tail(kSummaryFields);
  for_each_registry_field(s, tail);
  if (!tail.text().empty()) {
    line += "; ";
    line += tail.text();
  }
  return line;
}

inline constexpr std::size_t kColumns = 8;
using TableRow = std::array<std::string, kColumns>;

inline TableRow table_row(const EntrySnapshot& e) {
  const bool ran = e.loads + e.failures != 0;
  return {display(e.name),
          std::string(to_string(e.status)),
          fmt::format("{}", e.priority),
          ran ? human_seconds(e.load_time) : "-",
          progress_cell(e),
          human_bytes(e.size_bytes),
          details_cell(e),
          display(e.error)};
}

// Appends `row` as one line, each cell padded to its column's width.
inline void append_row(std::string& out, const TableRow& row,
                       const std::array<std::size_t, kColumns>& widths) {
  // Columns whose cells are right-aligned: PRIORITY, LOAD TIME, SIZE.
  constexpr std::array<bool, kColumns> kRight = {false, false, true,  true,
                                                 false, true,  false, false};
  std::string line;
  for (std::size_t c = 0; c < kColumns; ++c) {
    if (c != 0) line += "  ";
    const fmt::string_view cell(row[c].data(), row[c].size());
    if (c + 1 == kColumns) {
      line.append(row[c]);  // the last column is not padded
    } else if (kRight[c]) {
      line += fmt::format("{:>{}}", cell, widths[c]);
    } else {
      line += fmt::format("{:<{}}", cell, widths[c]);
    }
  }
  line.erase(line.find_last_not_of(' ') + 1);
  out += line;
  out += '\n';
}

inline std::string status_table(const RegistrySnapshot& snapshot) {
  std::vector<TableRow> rows;
  rows.reserve(snapshot.entries.size() + 1);
  rows.push_back({"NAME", "STATUS", "PRIORITY", "LOAD TIME", "PROGRESS", "SIZE",
                  "DETAILS", "ERROR"});
  for (const EntrySnapshot& e : snapshot.entries) rows.push_back(table_row(e));
  std::array<std::size_t, kColumns> widths{};
  for (const TableRow& row : rows) {
    for (std::size_t c = 0; c < kColumns; ++c) {
      widths[c] = std::max(widths[c], display_width(row[c]));
    }
  }
  std::string out;
  for (const TableRow& row : rows) append_row(out, row, widths);
  out += summary_line(snapshot);
  return out;
}

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_FMT_HPP_
