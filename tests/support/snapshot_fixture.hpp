// tests/support/snapshot_fixture.hpp
//
// A snapshot built by hand with fixed values, for the renderers' exact-text
// tests (json_test, fmt_test, prometheus_test): every field of the first
// entry and of the totals holds a value that is neither zero nor empty, so
// that a renderer that leaves a field out shows in the text.
//
//   torch    loaded    every field set; depends on lazy
//   模型     loading   two wide characters, 40% "weights"
//   d<LF>b   failed    an error message with a newline; required
//   lazy     unloaded  loaded once, then unloaded

#ifndef LAZYLOAD_TESTS_SUPPORT_SNAPSHOT_FIXTURE_HPP_
#define LAZYLOAD_TESTS_SUPPORT_SNAPSHOT_FIXTURE_HPP_

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "lazyload/detail/snapshot_fields.hpp"
#include "lazyload/snapshot.hpp"

namespace lazyload_test {

// 1764045302123 ms: 2025-11-25T04:35:02.123Z.
inline std::chrono::system_clock::time_point at_ms(long long ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

inline lazyload::EntrySnapshot fixture_entry(std::string name,
                                             lazyload::Status status) {
  lazyload::EntrySnapshot e;
  e.name = std::move(name);
  e.status = status;
  return e;
}

// The entry with every field set.
inline lazyload::EntrySnapshot fixture_torch() {
  lazyload::EntrySnapshot e = fixture_entry("torch", lazyload::Status::loaded);
  e.type = "Model";
  e.priority = 1;
  e.load_time = 5.8041234567;
  e.error = "lazyload: loading 'torch' failed: out of memory";  // an old one
  e.loads = 2;
  e.failures = 1;
  e.evictions = 3;
  e.uses = 5;
  e.progress = 1.0;
  e.stage = "ready";
  e.depends_on = {"lazy"};
  e.size_bytes = 64 * 1024 * 1024;
  e.evictable = true;
  e.required = true;
  e.last_loaded_at = at_ms(1764045302123);
  e.first_load = 2;
  e.reloading = true;
  e.reload_progress = 0.5;
  e.retries = 1;
  e.next_retry_at = at_ms(1764045303412);
  return e;
}

// The four entries above, with totals that match them.
inline lazyload::RegistrySnapshot fixed_snapshot() {
  using lazyload::Status;
  lazyload::RegistrySnapshot s;
  s.entries.push_back(fixture_torch());
  // 模型, two wide characters.
  lazyload::EntrySnapshot bert =
      fixture_entry("\xE6\xA8\xA1\xE5\x9E\x8B", Status::loading);
  bert.type = "int";
  bert.priority = 2;
  bert.progress = 0.4;
  bert.stage = "weights";
  bert.size_bytes = 512;
  s.entries.push_back(bert);
  lazyload::EntrySnapshot db = fixture_entry("d\nb", Status::failed);
  db.type = "int";
  db.load_time = 0.0003;
  db.failures = 1;
  db.progress = 0.25;
  db.error = "lazyload: loading 'd\nb' failed: refused";
  db.required = true;
  s.entries.push_back(db);
  lazyload::EntrySnapshot lazy = fixture_entry("lazy", Status::unloaded);
  lazy.type = "int";
  lazy.load_time = 0.2111;
  lazy.loads = 1;
  lazy.uses = 1;
  lazy.first_load = 1;
  s.entries.push_back(lazy);
  s.total = 4;
  s.loaded = 1;
  s.loading = 1;
  s.failed = 1;
  s.unloaded = 1;
  s.is_loading = true;
  s.progress = 0.25;
  s.bytes_loaded = 64 * 1024 * 1024;
  s.memory_budget = 3ULL * 1024 * 1024 * 1024 / 2;
  s.budget_overshoots = 4;
  s.pressure = lazyload::PressureLevel::warning;
  s.rss_bytes = 200 * 1024 * 1024;
  s.not_ready = {"d\nb"};
  return s;
}

// fixed_snapshot() with its first entry only, for texts that list every
// series of every entry.
inline lazyload::RegistrySnapshot fixed_snapshot_of_torch() {
  lazyload::RegistrySnapshot s = fixed_snapshot();
  s.entries.resize(1);
  s.total = 1;
  s.loading = 0;
  s.failed = 0;
  s.unloaded = 0;
  s.is_loading = false;
  s.progress = 1.0;
  s.not_ready.clear();
  return s;
}

// The names in the list of fields every renderer walks
// (detail/snapshot_fields.hpp), in order.
struct FieldNames {
  std::vector<std::string> names;
  std::vector<lazyload::detail::Field> fields;
  template <class Value>
  void field(const lazyload::detail::Field& f, const Value& /*value*/) {
    names.emplace_back(f.name);
    fields.push_back(f);
  }
};

inline std::vector<std::string> entry_field_names() {
  FieldNames v;
  lazyload::detail::for_each_entry_field(lazyload::EntrySnapshot{}, v);
  return v.names;
}

inline std::vector<std::string> registry_field_names() {
  FieldNames v;
  lazyload::detail::for_each_registry_field(lazyload::RegistrySnapshot{}, v);
  return v.names;
}

// The descriptors of the list: the totals' fields, then an entry's.
inline std::vector<lazyload::detail::Field> all_fields() {
  FieldNames v;
  lazyload::detail::for_each_registry_field(lazyload::RegistrySnapshot{}, v);
  lazyload::detail::for_each_entry_field(lazyload::EntrySnapshot{}, v);
  return v.fields;
}

}  // namespace lazyload_test

#endif  // LAZYLOAD_TESTS_SUPPORT_SNAPSHOT_FIXTURE_HPP_
