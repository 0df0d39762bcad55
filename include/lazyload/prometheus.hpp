// lazyload/prometheus.hpp
//
// The registry's status in the Prometheus text exposition format (version
// 0.0.4), for a `/metrics` endpoint. Standard library only.
//
// Example Usage:
//
//   #include <lazyload/prometheus.hpp>
//   #include <lazyload/registry.hpp>  // for a registry to render
//
//   server.get("/metrics", [&] {
//     return Response(200, "text/plain; version=0.0.4",
//                     lazyload::to_prometheus(registry.snapshot()));
//   });
//
//   # HELP lazyload_entry_state Whether the entry is in the status (1) or...
//   # TYPE lazyload_entry_state gauge
//   lazyload_entry_state{name="torch",status="unloaded"} 0
//   lazyload_entry_state{name="torch",status="queued"} 0
//   lazyload_entry_state{name="torch",status="loading"} 0
//   lazyload_entry_state{name="torch",status="loaded"} 1
//   lazyload_entry_state{name="torch",status="failed"} 0
//
// The metric families, each with HELP and TYPE lines even when it has no
// sample, one per field of the list in detail/snapshot_fields.hpp that is a
// number, a flag or a state (free text and lists are not metrics):
//
//   gauge   lazyload_entries{status}          entries by status
//   gauge   lazyload_is_loading               1: an entry queued or loading
//   gauge   lazyload_progress_ratio           loaded / total, 0 to 1
//   gauge   lazyload_loaded_bytes             sizes of the loaded entries
//   gauge   lazyload_memory_budget_bytes      the budget, when there is one
//   counter lazyload_budget_overshoots_total  loads that overshot the budget
//   gauge   lazyload_pressure{level}          1 for the pressure level now
//   gauge   lazyload_rss_bytes                resident set size, when known
//   gauge   lazyload_ready                    1: every required entry loaded
//   gauge   lazyload_entry_info{name,type,evictable,required}  always 1
//   gauge   lazyload_entry_state{name,status}  1 for the entry's status
//   gauge   lazyload_entry_priority{name}     loading order, smaller first
//   gauge   lazyload_entry_last_load_duration_seconds{name}  once loaded
//   counter lazyload_entry_loads_total{name}
//   counter lazyload_entry_failures_total{name}
//   counter lazyload_entry_evictions_total{name}  unloads for the budget
//   counter lazyload_entry_uses_total{name}   loads plus leases
//   gauge   lazyload_entry_progress_ratio{name}  what the last load reported
//   gauge   lazyload_entry_size_bytes{name}   when known
//   gauge   lazyload_entry_last_loaded_timestamp_seconds{name}  Unix time
//   gauge   lazyload_entry_first_load{name}   rank of its first load, once
//
// The total is sum(lazyload_entries); not_ready is what
// lazyload_entry_info{required="true"} and lazyload_entry_state tell.
//
// Each entry adds about 1 KB of text (a sample in each lazyload_entry_*
// family). For very large registries, where that is too much for every
// scrape, `PrometheusOptions::per_entry = false` writes the
// registry-wide families only (the first nine above: counts by status,
// totals, budget, pressure, readiness), whatever the number of entries:
//
//   lazyload::PrometheusOptions options;
//   options.per_entry = false;
//   lazyload::to_prometheus(registry.snapshot(), options);
//
// Rationale:
//
// * Names follow the Prometheus conventions: one `lazyload_` prefix, base
//   units in the name (`_seconds`, `_bytes`, `_ratio`), `_total` on counters
//   only, and states as a gauge per state (`status` label), so that
//   `sum by (status) (lazyload_entry_state)` and alerts on
//   `lazyload_entry_state{status="failed"} == 1` work.
// * A value that is not known (a size, a budget, a duration before the first
//   load) has no sample rather than a 0 that would read as a measurement.
// * Label values are escaped as the format says (backslash, double quote,
//   line feed), and bytes that are not UTF-8 become U+FFFD, so any name
//   gives a well-formed exposition. Two names that differ only in such bytes
//   then give the same series, which Prometheus rejects as a duplicate.
// * Plain text built with std::string: no client library, no registry of
//   collectors, nothing to keep in sync; the snapshot is the collector.

#ifndef LAZYLOAD_PROMETHEUS_HPP_
#define LAZYLOAD_PROMETHEUS_HPP_

#include <array>        // std::array
#include <charconv>     // std::to_chars
#include <chrono>       // std::chrono::system_clock
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int64_t, std::uint64_t
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <type_traits>  // std::enable_if_t, std::is_same_v
#include <utility>      // std::pair
#include <vector>       // std::vector

#include "detail/snapshot_fields.hpp"
#include "detail/text.hpp"
#include "memory_pressure.hpp"
#include "snapshot.hpp"
#include "status.hpp"

namespace lazyload {

class LazyRegistry;

// kPrometheusContentType
//
// The HTTP Content-Type of the text exposition format that to_prometheus()
// writes.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// to_prometheus()
//
// Returns the metrics of `snapshot` (or of `registry.snapshot()`) in the
// Prometheus text exposition format 0.0.4: a HELP and a TYPE line per metric
// family, then its samples, one per line, each line ending in '\n'. Always
// valid UTF-8. The registry overload is a template so that this header
// needs only the snapshot; include <lazyload/registry.hpp> to call it.
// Thread safety: safe to call concurrently, also while loads run.
// Throws: std::bad_alloc only.
// Invalidates: none.
std::string to_prometheus(const RegistrySnapshot& snapshot);
template <class Registry,
          std::enable_if_t<std::is_same_v<Registry, LazyRegistry>, int> = 0>
std::string to_prometheus(const Registry& registry) {
  return to_prometheus(registry.snapshot());
}

// PrometheusOptions
//
// What to_prometheus() writes.
struct PrometheusOptions {
  // Whether to write the lazyload_entry_* families, a series per entry (and
  // per status, for lazyload_entry_state). False: the registry-wide
  // families only, for registries too large to expose entry by entry; the
  // snapshot passed in is still read whole, so a scrape then costs about
  // what registry.snapshot() costs.
  bool per_entry = true;
};

// to_prometheus(snapshot, options)
//
// As to_prometheus(snapshot), with `options`; with the default options the
// text is the same.
// Thread safety: safe to call concurrently, also while loads run.
// Throws: std::bad_alloc only.
// Invalidates: none.
std::string to_prometheus(const RegistrySnapshot& snapshot,
                          const PrometheusOptions& options);
template <class Registry,
          std::enable_if_t<std::is_same_v<Registry, LazyRegistry>, int> = 0>
std::string to_prometheus(const Registry& registry,
                          const PrometheusOptions& options) {
  return to_prometheus(registry.snapshot(), options);
}

// End of public interfaces.
// Implementation details follow.

namespace detail {

// Appends `value` as the inside of a label value: at once when it is ASCII
// with nothing to escape (most names, types and words), else escaped.
inline void append_label(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (static_cast<unsigned char>(c) >= 0x80 || c == '\\' || c == '"' ||
        c == '\n') {
      append_label_value(out, value);
      return;
    }
  }
  out += value;
}

// Appends one sample line: `family{label="value",...} number`.
class PrometheusSample {
 public:
  PrometheusSample(std::string& out, std::string_view family) : out_(out) {
    out_ += family;
  }

  PrometheusSample& label(std::string_view name, std::string_view value) {
    out_ += first_label_ ? '{' : ',';
    first_label_ = false;
    out_ += name;
    out_ += "=\"";
    append_label(out_, value);
    out_ += '"';
    return *this;
  }

  // Appends a label already written as `name="escaped value"`.
  PrometheusSample& written_label(std::string_view label) {
    out_ += first_label_ ? '{' : ',';
    first_label_ = false;
    out_ += label;
    return *this;
  }

  template <class Number> void value(Number number) {
    if (!first_label_) out_ += '}';
    out_ += ' ';
    if constexpr (std::is_same_v<Number, std::int64_t>) {
      char buffer[24];  // the same digits as the double would give
      const char* end =
          std::to_chars(buffer, buffer + sizeof buffer, number).ptr;
      out_.append(buffer, static_cast<std::size_t>(end - buffer));
    } else {
      append_number(out_, number);
    }
    out_ += '\n';
  }

 private:
  std::string& out_;
  bool first_label_ = true;
};

// The metric families in the order of their first field, each with its
// samples, so that the samples of one family stay together although the
// fields are walked entry by entry.
class PrometheusFamilies {
 public:
  // Returns the index of `family`, adding the family if new.
  std::size_t index(std::string_view family, Metric metric,
                    std::string_view help) {
    for (std::size_t i = 0; i < families_.size(); ++i) {
      if (families_[i].name == family) return i;
    }
    families_.push_back({family, metric == Metric::counter, help, {}});
    return families_.size() - 1;
  }

  // Returns where the samples of family `i` go.
  std::string& samples(std::size_t i) { return families_[i].samples; }

  // Reserves room for the samples of `total` entries, as many bytes each as
  // the `done` entries so far took, plus some: a family's samples then grow
  // in place instead of being copied at each doubling, which at 100,000
  // entries (some 100 MB in all) would cost as much as writing them.
  void reserve(std::size_t done, std::size_t total) {
    for (Family& f : families_) {
      const std::size_t per_entry = f.samples.size() / done + 1;
      f.samples.reserve(f.samples.size() + per_entry * (total - done) +
                        per_entry * total / 8);
    }
  }

  // Appends each family: HELP, TYPE, then its samples.
  void write(std::string& out) const {
    std::size_t size = out.size();
    for (const Family& f : families_) {
      size += 2 * f.name.size() + f.help.size() + 24 + f.samples.size();
    }
    out.reserve(size);
    for (const Family& f : families_) {
      out += "# HELP ";
      out += f.name;
      out += ' ';
      out += f.help;  // static text: nothing to escape
      out += "\n# TYPE ";
      out += f.name;
      out += f.counter ? " counter\n" : " gauge\n";
      out += f.samples;
    }
  }

 private:
  struct Family {
    std::string_view name;
    bool counter;
    std::string_view help;
    std::string samples;
  };
  std::vector<Family> families_;
};

inline constexpr std::string_view kEntryInfo = "lazyload_entry_info";
inline constexpr std::string_view kEntryInfoHelp =
    "Always 1; the labels describe the entry.";

// Returns a sample value in the metric's base unit: Unix seconds for a time
// point, 0 or 1 for a flag.
inline std::int64_t metric_value(int value) { return value; }
inline double metric_value(double value) { return value; }
inline std::uint64_t metric_value(std::uint64_t value) { return value; }
inline std::uint64_t metric_value(bool value) { return value ? 1U : 0U; }
inline double metric_value(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      t.time_since_epoch())
                      .count();
  return static_cast<double>(ms) / 1e3;
}

// Adds the samples of the list's fields of the totals (no entry) or of one
// entry to `families`; with `declare`, adds the families only. One object
// serves entry after entry (entry()), so that its buffers are allocated
// once.
class PrometheusFields {
 public:
  explicit PrometheusFields(PrometheusFamilies& families, bool declare = false)
      : families_(families), declare_(declare) {}

  // Starts the samples of the entry named `name`: its label is escaped here,
  // once, for all of its samples.
  void entry(std::string_view name) {
    entry_label_.assign("name=\"");
    append_label(entry_label_, name);
    entry_label_ += '"';
    info_.clear();
    call_ = 0;
  }

  // Free text and lists are not metrics.
  void field(const Field& /*f*/,
             const std::optional<std::string_view>& /*text*/) {}
  void field(const Field& /*f*/, const std::vector<std::string>& /*list*/) {}

  void field(const Field& f, std::string_view text) {
    if (f.metric == Metric::info_label) info_label(f, text);
  }

  void field(const Field& f, bool flag) {
    if (f.metric == Metric::info_label) {
      info_label(f, flag ? "true" : "false");
    } else {
      number(f, flag);
    }
  }

  void field(const Field& f, Status status) { states(f, status, kAllStatuses); }
  void field(const Field& f, PressureLevel level) {
    states(f, level, kAllPressureLevels);
  }

  void field(const Field& f, std::uint64_t count) {
    if (f.metric == Metric::by_status) {
      samples(f.family, f.metric, f.help);
      for (std::size_t i = 0; i < kAllStatuses.size(); ++i) {
        if (to_string(kAllStatuses[i]) == f.name) by_status_[i] = count;
      }
      by_status_field_ = &f;
    } else {
      number(f, count);
    }
  }

  void field(const Field& f, int value) { number(f, value); }
  void field(const Field& f, double value) { number(f, value); }

  template <class Value>
  void field(const Field& f, const std::optional<Value>& value) {
    if (f.metric == Metric::none) return;
    std::string& out = samples(f.family, f.metric, f.help);
    if (value && !declare_) sample(out, f).value(metric_value(*value));
  }

  // Writes what waits for the last field: the info sample of an entry, the
  // counts by status of the totals.
  void finish() {
    if (declare_) return;
    if (!info_.empty()) {
      PrometheusSample s(samples(kEntryInfo, Metric::gauge, {}), kEntryInfo);
      s.written_label(entry_label_);
      for (const auto& [name, value] : info_) s.label(name, value);
      s.value(std::uint64_t{1});
    }
    if (by_status_field_ != nullptr) write_by_status(*by_status_field_);
  }

 private:
  // Returns where the samples of `family` go. Every entry names the same
  // families in the same order, so the n-th family an entry names is looked
  // up once, for the first entry, and then only compared by address.
  std::string& samples(std::string_view family, Metric metric,
                       std::string_view help) {
    if (call_ < known_.size() && known_[call_].first.data() == family.data() &&
        known_[call_].first.size() == family.size()) {
      return families_.samples(known_[call_++].second);
    }
    const std::size_t i = families_.index(family, metric, help);
    if (call_ < known_.size()) {
      known_[call_] = {family, i};
    } else {
      known_.emplace_back(family, i);
    }
    ++call_;
    return families_.samples(i);
  }

  PrometheusSample sample(std::string& out, const Field& f) const {
    PrometheusSample s(out, f.family);
    if (!entry_label_.empty()) s.written_label(entry_label_);
    return s;
  }

  template <class Value> void number(const Field& f, Value value) {
    if (f.metric == Metric::none) return;
    std::string& out = samples(f.family, f.metric, f.help);
    if (!declare_) sample(out, f).value(metric_value(value));
  }

  // The entry's name is the info sample's first label, written by finish().
  void info_label(const Field& f, std::string_view value) {
    samples(kEntryInfo, Metric::gauge, kEntryInfoHelp);
    if (f.name != entry_field::kName.name) info_.emplace_back(f.name, value);
  }

  template <class State, class All>
  void states(const Field& f, State state, const All& all) {
    std::string& out = samples(f.family, f.metric, f.help);
    if (declare_) return;
    for (const State each : all) {
      sample(out, f)
          .label(f.label, to_string(each))
          .value(std::uint64_t{each == state ? 1U : 0U});
    }
  }

  void write_by_status(const Field& f) {
    std::string& out = samples(f.family, f.metric, f.help);
    for (std::size_t i = 0; i < kAllStatuses.size(); ++i) {
      sample(out, f)
          .label(f.label, to_string(kAllStatuses[i]))
          .value(by_status_[i]);
    }
  }

  PrometheusFamilies& families_;
  bool declare_;
  std::string entry_label_;  // `name="..."`, escaped; empty for the totals
  // The families named so far by the current entry, in order, and where
  // they are.
  std::vector<std::pair<std::string_view, std::size_t>> known_;
  std::size_t call_ = 0;
  std::vector<std::pair<std::string_view, std::string_view>> info_;
  std::array<std::uint64_t, kAllStatuses.size()> by_status_{};
  const Field* by_status_field_ = nullptr;
};

}  // namespace detail

inline std::string to_prometheus(const RegistrySnapshot& snapshot,
                                 const PrometheusOptions& options) {
  detail::PrometheusFamilies families;
  detail::PrometheusFields totals(families);
  detail::for_each_registry_field(snapshot, totals);
  totals.finish();
  if (options.per_entry) {
    // The entries' families, declared even when there is no entry.
    detail::PrometheusFields declare(families, true);
    detail::for_each_entry_field(EntrySnapshot{}, declare);
    detail::PrometheusFields fields(families);
    const std::size_t n = snapshot.entries.size();
    for (std::size_t i = 0; i < n; ++i) {
      const EntrySnapshot& e = snapshot.entries[i];
      fields.entry(e.name);
      detail::for_each_entry_field(e, fields);
      fields.finish();
      constexpr std::size_t kSampled = 64;  // entries that size the rest
      if (i + 1 == kSampled && n > 2 * kSampled) {
        families.reserve(kSampled, n);
      }
    }
  }
  std::string out;
  families.write(out);
  return out;
}

inline std::string to_prometheus(const RegistrySnapshot& snapshot) {
  return to_prometheus(snapshot, PrometheusOptions{});
}

}  // namespace lazyload

#endif  // LAZYLOAD_PROMETHEUS_HPP_
