// lazyload/json.hpp
//
// The registry's status as JSON, with nlohmann_json: `to_json()` overloads
// that nlohmann finds by argument-dependent lookup, so that a snapshot
// converts like any other value, and `dump_status()`, the text that
// `GET /api/status` serves. Link `lazyload::json` to use it.
//
// Example Usage:
//
//   #include <lazyload/json.hpp>
//
//   nlohmann::json j = registry.snapshot();
//   if (j["progress"]["failed"] > 0) alert(j["entries"]);
//   std::cout << lazyload::dump_status(registry, 2) << "\n";
//
// The document (schema: docs/status.schema.json; guide: docs/status-json.md):
//
//   {"progress": {"total": 18, "loaded": 15, "failed": 0, "loading": 1,
//                 "queued": 2, "unloaded": 0, "is_loading": true,
//                 "progress_percentage": 83.33, ...},
//    "entries": {"torch": {"status": "loaded", "priority": 1,
//                          "load_time": 5.804, "error": null, ...}}}
//
// Rationale:
//
// * nlohmann's extension point is a `to_json()` in the type's own namespace
//   (nlohmann/adl_serializer.hpp), so that is what this header provides:
//   `json j = snapshot`, `j["e"] = entry` and `json(std::vector<...>)` all
//   work, with nothing to register.
// * The overloads are templates on the JSON type, so that `nlohmann::json`
//   (keys sorted) and `nlohmann::ordered_json` both work. `dump_status()`
//   uses `ordered_json`: its text lists entries in registration order, with
//   the totals first.
// * A value that is not known is `null`, never a made-up 0: `error`,
//   `stage`, `size_bytes`, `last_loaded_at`, `memory_budget`.
// * Names and messages are arbitrary bytes, and nlohmann's `dump()` throws
//   type_error.316 on invalid UTF-8 by default. `dump_status()` dumps with
//   `error_handler_t::replace`, which writes U+FFFD instead; code that dumps
//   a converted snapshot itself should pass it too.
// * Numbers are rounded for people: `load_time` to the microsecond,
//   `progress_percentage` to hundredths.

#ifndef LAZYLOAD_JSON_HPP_
#define LAZYLOAD_JSON_HPP_

#include <chrono>             // std::chrono::system_clock
#include <cmath>              // std::round
#include <nlohmann/json.hpp>  // nlohmann::json, nlohmann::ordered_json
#include <string>             // std::string
#include <type_traits>        // std::true_type, std::void_t
#include <utility>            // std::move, std::forward

#include "detail/text.hpp"
#include "registry.hpp"
#include "status.hpp"

namespace lazyload {

// to_json(BasicJsonType&, Status)
//
// Sets `j` to the status word: "unloaded", "queued", "loading", "loaded" or
// "failed" (nlohmann would otherwise write the enum's number). Called by
// nlohmann on `json j = status;`.
// Thread safety: safe to call concurrently on different `j`.
// Throws: std::bad_alloc only.
// Invalidates: references into `j`.
template <class BasicJsonType> void to_json(BasicJsonType& j, Status status);

// to_json(BasicJsonType&, const EntrySnapshot&)
//
// Sets `j` to the object of one entry: name, type, status, priority,
// load_time (seconds), error (null or the last error message), loads,
// failures, evictions, progress, stage, depends_on, size_bytes (null when
// unknown), evictable, required, last_loaded_at (ISO 8601 UTC or null).
// Called by nlohmann on `json j = entry;`.
// Thread safety: safe to call concurrently on different `j`.
// Throws: std::bad_alloc only.
// Invalidates: references into `j`.
template <class BasicJsonType>
void to_json(BasicJsonType& j, const EntrySnapshot& entry);

// to_json(BasicJsonType&, const RegistrySnapshot&)
//
// Sets `j` to `{"progress": {totals}, "entries": {name: entry, ...}}`, the
// document of docs/status-json.md. Called by nlohmann on
// `nlohmann::json j = registry.snapshot();`.
// Thread safety: safe to call concurrently on different `j`.
// Throws: std::bad_alloc only.
// Invalidates: references into `j`.
template <class BasicJsonType>
void to_json(BasicJsonType& j, const RegistrySnapshot& snapshot);

// dump_status()
//
// Returns the status document of `registry` (or of `snapshot`) as JSON text:
// compact for `indent` < 0, else pretty-printed with `indent` spaces. Entries
// appear in registration order. Bytes that are not UTF-8 come out as U+FFFD,
// so the text is always valid UTF-8 and valid JSON.
// Thread safety: safe to call concurrently, also while loads run.
// Throws: std::bad_alloc only.
// Invalidates: none.
std::string dump_status(const LazyRegistry& registry, int indent = -1);
std::string dump_status(const RegistrySnapshot& snapshot, int indent = -1);

// End of public interfaces.
// Implementation details follow.

namespace detail {

// Whether an object type is nlohmann's ordered_map (a vector underneath).
template <class Object, class = void>
struct is_ordered_object : std::false_type {};
template <class Object>
struct is_ordered_object<Object, std::void_t<typename Object::Container>>
    : std::true_type {};

// Adds a member whose key is known to be new, in constant time for
// ordered_json and logarithmic time for json.
template <class Object, class Value>
void append_member(Object& object, const std::string& key, Value&& value) {
  if constexpr (is_ordered_object<Object>::value) {
    object.Object::Container::emplace_back(key, std::forward<Value>(value));
  } else {
    object.emplace_hint(object.end(), key, std::forward<Value>(value));
  }
}

}  // namespace detail

namespace detail {

// Returns `value` rounded to a multiple of 1 / `scale`.
inline double round_to(double value, double scale) {
  return std::round(value * scale) / scale;
}

}  // namespace detail

template <class BasicJsonType> void to_json(BasicJsonType& j, Status status) {
  j = std::string(to_string(status));
}

template <class BasicJsonType>
void to_json(BasicJsonType& j, const EntrySnapshot& entry) {
  j = BasicJsonType::object();
  j["name"] = entry.name;
  j["type"] = entry.type;
  j["status"] = std::string(to_string(entry.status));
  j["priority"] = entry.priority;
  j["load_time"] = detail::round_to(entry.load_time, 1e6);
  if (entry.error.empty()) {
    j["error"] = nullptr;
  } else {
    j["error"] = entry.error;
  }
  j["loads"] = entry.loads;
  j["failures"] = entry.failures;
  j["evictions"] = entry.evictions;
  j["progress"] = entry.progress;
  if (entry.stage.empty()) {
    j["stage"] = nullptr;
  } else {
    j["stage"] = entry.stage;
  }
  j["depends_on"] = entry.depends_on;
  if (entry.size_bytes == 0) {
    j["size_bytes"] = nullptr;
  } else {
    j["size_bytes"] = entry.size_bytes;
  }
  j["evictable"] = entry.evictable;
  j["required"] = entry.required;
  if (entry.last_loaded_at == std::chrono::system_clock::time_point{}) {
    j["last_loaded_at"] = nullptr;
  } else {
    j["last_loaded_at"] = detail::iso8601_utc(entry.last_loaded_at);
  }
}

template <class BasicJsonType>
void to_json(BasicJsonType& j, const RegistrySnapshot& snapshot) {
  BasicJsonType progress = BasicJsonType::object();
  progress["total"] = snapshot.total;
  progress["loaded"] = snapshot.loaded;
  progress["failed"] = snapshot.failed;
  progress["loading"] = snapshot.loading;
  progress["queued"] = snapshot.queued;
  progress["unloaded"] = snapshot.unloaded;
  progress["is_loading"] = snapshot.is_loading;
  progress["progress_percentage"] =
      detail::round_to(100.0 * snapshot.progress, 100.0);
  progress["bytes_loaded"] = snapshot.bytes_loaded;
  if (snapshot.memory_budget == 0) {
    progress["memory_budget"] = nullptr;
  } else {
    progress["memory_budget"] = snapshot.memory_budget;
  }
  progress["budget_overshoots"] = snapshot.budget_overshoots;
  progress["ready"] = snapshot.not_ready.empty();
  progress["not_ready"] = snapshot.not_ready;

  // Names in a snapshot are unique, so each entry is appended without the
  // lookup that `entries[name]` does: ordered_json's lookup is linear, and
  // would make a dump of n entries cost n^2.
  BasicJsonType entries = BasicJsonType::object();
  auto& members = entries.template get_ref<typename BasicJsonType::object_t&>();
  for (const EntrySnapshot& entry : snapshot.entries) {
    detail::append_member(members, entry.name, BasicJsonType(entry));
  }
  j = BasicJsonType::object();
  j["progress"] = std::move(progress);
  j["entries"] = std::move(entries);
}

inline std::string dump_status(const RegistrySnapshot& snapshot, int indent) {
  const nlohmann::ordered_json j = snapshot;
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::string dump_status(const LazyRegistry& registry, int indent) {
  return dump_status(registry.snapshot(), indent);
}

}  // namespace lazyload

#endif  // LAZYLOAD_JSON_HPP_
