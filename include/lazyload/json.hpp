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
//   #include <lazyload/registry.hpp>  // for a registry to render
//
//   nlohmann::json j = registry.snapshot();
//   if (j["progress"]["failed"] > 0) alert(j["entries"]);
//   std::cout << lazyload::dump_status(registry, 2) << "\n";
//
// The document (schema: docs/status.schema.json; guide: docs/status-json.md):
//
//   {"progress": {"total": 18, "loaded": 15, "failed": 0, "loading": 1,
//                 "queued": 2, "unloaded": 0, "is_loading": true,
//                 "progress": 0.8333333333333334, ...},
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
// * The keys are the fields of detail/snapshot_fields.hpp, the list every
//   renderer walks, with its names and units: seconds, bytes, fractions
//   from 0 to 1. One key is not in the list: `progress_percentage`, the
//   registry's `progress` times 100, deprecated, kept for one more release.
// * A value that is not known is `null`, never a made-up 0: `error`,
//   `stage`, `size_bytes`, `last_loaded_at`, `first_load`, `memory_budget`,
//   `rss_bytes`. (`load_time` is 0 before the first load, as it always was.)
// * Names and messages are arbitrary bytes, and nlohmann's `dump()` throws
//   type_error.316 on invalid UTF-8 by default. `dump_status()` dumps with
//   `error_handler_t::replace`, which writes U+FFFD instead; code that dumps
//   a converted snapshot itself should pass it too.
// * Numbers are rounded for people: times in seconds to the microsecond,
//   `progress_percentage` to hundredths; fractions are not rounded.
// * The header needs the snapshot, not the registry: `dump_status(registry)`
//   is a template that only code which has the registry instantiates.

#ifndef LAZYLOAD_JSON_HPP_
#define LAZYLOAD_JSON_HPP_

#include <algorithm>          // std::all_of
#include <array>              // std::array
#include <charconv>           // std::to_chars
#include <chrono>             // std::chrono::system_clock
#include <cmath>              // std::round, std::isfinite
#include <cstdint>            // std::uint64_t
#include <nlohmann/json.hpp>  // nlohmann::json, nlohmann::ordered_json
#include <optional>           // std::optional
#include <string>             // std::string
#include <string_view>        // std::string_view
#include <type_traits>        // std::enable_if_t, std::is_same_v
#include <utility>            // std::move, std::forward
#include <vector>             // std::vector

#include "detail/snapshot_fields.hpp"
#include "detail/text.hpp"
#include "detail/utf8.hpp"
#include "memory_pressure.hpp"
#include "snapshot.hpp"
#include "status.hpp"

namespace lazyload {

class LazyRegistry;

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
// Sets `j` to the object of one entry, a key per field of the list in
// detail/snapshot_fields.hpp: name, type, status, priority, load_time
// (seconds), error (null or the last error message), loads, failures,
// evictions, uses, progress, stage, depends_on, size_bytes (null when
// unknown), evictable, required, last_loaded_at (ISO 8601 UTC or null),
// first_load (null until the entry loads). Called by nlohmann on
// `json j = entry;`.
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
// Returns the status document of `snapshot` (or of `registry.snapshot()`)
// as JSON text: compact for `indent` < 0, else pretty-printed with `indent`
// spaces. Entries appear in registration order. Bytes that are not UTF-8
// come out as U+FFFD, so the text is always valid UTF-8 and valid JSON. The
// registry overload is a template so that this header needs only the
// snapshot; include <lazyload/registry.hpp> to call it.
// Thread safety: safe to call concurrently, also while loads run.
// Throws: std::bad_alloc only.
// Invalidates: none.
std::string dump_status(const RegistrySnapshot& snapshot, int indent = -1);
template <class Registry,
          std::enable_if_t<std::is_same_v<Registry, LazyRegistry>, int> = 0>
std::string dump_status(const Registry& registry, int indent = -1) {
  return dump_status(registry.snapshot(), indent);
}

// End of public interfaces.
// Implementation details follow.

namespace detail {

// Whether an object type is nlohmann's ordered_map (a vector underneath).
template <class Object, class = void>
struct IsOrderedObject : std::false_type {};
template <class Object>
struct IsOrderedObject<Object, std::void_t<typename Object::Container>>
    : std::true_type {};

// Adds a member whose key is known to be new, in constant time for
// ordered_json and logarithmic time for json.
template <class Object, class Value>
void append_member(Object& object, const std::string& key, Value&& value) {
  if constexpr (IsOrderedObject<Object>::value) {
    object.Object::Container::emplace_back(key, std::forward<Value>(value));
  } else {
    object.emplace_hint(object.end(), key, std::forward<Value>(value));
  }
}

// Returns `value` rounded to a multiple of 1 / `scale`.
inline double round_to(double value, double scale) {
  return std::round(value * scale) / scale;
}

// Sets a key of a JSON object per field of the list in snapshot_fields.hpp.
// For the totals (`totals`), adds the deprecated `progress_percentage`
// (progress * 100, rounded to hundredths) after `progress`.
template <class BasicJsonType> class JsonFields {
 public:
  // `object` must be an empty object: each field's key is new, and is
  // appended without a lookup.
  JsonFields(BasicJsonType& object, bool totals)
      : object_(object.template get_ref<Object&>()), totals_(totals) {}

  template <class Value> void field(const Field& f, const Value& value) {
    add(f.name, to_value(value));
  }

  template <class Value>
  void field(const Field& f, const std::optional<Value>& value) {
    if (value) {
      field(f, *value);
    } else if (f.unknown == Unknown::zero) {
      add(f.name, 0.0);
    } else {
      add(f.name, nullptr);
    }
  }

  void field(const Field& f, double value) {
    add(f.name, f.unit == Unit::seconds ? round_to(value, 1e6) : value);
    if (totals_ && f.name == registry_field::kProgress.name) {
      add("progress_percentage", round_to(100.0 * value, 100.0));
    }
  }

 private:
  using Object = typename BasicJsonType::object_t;

  template <class Value> void add(std::string_view key, Value&& value) {
    append_member(object_, std::string(key),
                  BasicJsonType(std::forward<Value>(value)));
  }

  template <class Value> static BasicJsonType to_value(const Value& value) {
    using Time = std::chrono::system_clock::time_point;
    if constexpr (std::is_same_v<Value, Status> ||
                  std::is_same_v<Value, PressureLevel>) {
      return std::string(to_string(value));
    } else if constexpr (std::is_same_v<Value, std::string_view>) {
      return std::string(value);
    } else if constexpr (std::is_same_v<Value, Time>) {
      return iso8601_utc(value);
    } else {
      return value;
    }
  }

  Object& object_;
  bool totals_;
};

// Writes JSON text exactly as nlohmann's `dump(indent, ' ', false,
// error_handler_t::replace)` writes the tree of the same values, without
// building the tree: dump_status() of n entries would otherwise allocate
// and walk some 30 nodes per entry (and at 100,000 entries, a tree far
// larger than the caches) only to print them.
class JsonText {
 public:
  JsonText(std::string& out, int indent) : out_(out), indent_(indent) {}

  void begin_object() { begin('{'); }
  void end_object() { end('}'); }
  void begin_array() { begin('['); }
  void end_array() { end(']'); }

  // Starts the member `name` of the object being written.
  void key(std::string_view name) {
    element();
    string(name);
    colon();
  }

  // key() for a name known to need no escaping: a field's.
  void plain_key(std::string_view name) {
    element();
    out_ += '"';
    out_ += name;
    out_ += '"';
    colon();
  }

  // Starts an element of the array being written.
  void item() { element(); }

  void null() { out_ += "null"; }
  void boolean(bool value) { out_ += value ? "true" : "false"; }
  void number(std::uint64_t value) { append_number(out_, value); }
  void number(int value) {
    char buffer[16];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, static_cast<std::size_t>(result.ptr - buffer));
  }
  void number(double value) {
    if (!std::isfinite(value)) {
      null();
      return;
    }
    char buffer[64];
    const char* end =
        nlohmann::detail::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, static_cast<std::size_t>(end - buffer));
  }

  // nlohmann's replacement of bytes that are not UTF-8 differs from
  // append_json_string()'s (one U+FFFD per bad sequence, not per byte), so
  // such strings go through nlohmann itself; they are rare.
  void string(std::string_view value) {
    if (is_plain(value)) {  // most names, types and words: copied at once
      out_ += '"';
      out_ += value;
      out_ += '"';
    } else if (first_invalid_utf8(value) == std::string_view::npos) {
      append_json_string(out_, value);
    } else {
      out_ +=
          nlohmann::json(std::string(value))
              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }

 private:
  void colon() {
    if (indent_ >= 0) {
      out_ += ": ";
    } else {
      out_ += ':';
    }
  }

  void begin(char bracket) {
    out_ += bracket;
    empty_[++depth_] = true;
  }

  void end(char bracket) {
    const bool empty = empty_[depth_--];
    if (!empty && indent_ >= 0) newline();
    out_ += bracket;
  }

  void element() {
    if (!empty_[depth_]) out_ += ',';
    empty_[depth_] = false;
    if (indent_ >= 0) newline();
  }

  // Whether `value` is printable ASCII without `"` or `\`: nothing to
  // escape or replace.
  static bool is_plain(std::string_view value) {
    return std::all_of(value.begin(), value.end(), [](char c) {
      const auto byte = static_cast<unsigned char>(c);
      return byte >= 0x20 && byte < 0x80 && c != '"' && c != '\\';
    });
  }

  void newline() {
    out_ += '\n';
    out_.append(static_cast<std::size_t>(indent_) * depth_, ' ');
  }

  std::string& out_;
  int indent_;
  // Per open container, whether nothing is in it yet; the status document
  // nests four deep (document, entries, entry, depends_on).
  std::array<bool, 8> empty_{};
  std::size_t depth_ = 0;
};

// Writes one member per field of the list in snapshot_fields.hpp, with the
// values JsonFields gives the tree.
class JsonTextFields {
 public:
  JsonTextFields(JsonText& text, bool totals) : text_(text), totals_(totals) {}

  template <class Value>
  void field(const Field& f, const std::optional<Value>& value) {
    if (value) {
      field(f, *value);
    } else {
      text_.plain_key(f.name);
      if (f.unknown == Unknown::zero) {
        text_.number(0.0);
      } else {
        text_.null();
      }
    }
  }

  void field(const Field& f, double value) {
    text_.plain_key(f.name);
    text_.number(f.unit == Unit::seconds ? round_to(value, 1e6) : value);
    if (totals_ && f.name == registry_field::kProgress.name) {
      text_.plain_key("progress_percentage");
      text_.number(round_to(100.0 * value, 100.0));
    }
  }

  void field(const Field& f, std::string_view value) {
    text_.plain_key(f.name);
    text_.string(value);
  }
  void field(const Field& f, Status value) { field(f, to_string(value)); }
  void field(const Field& f, PressureLevel value) {
    field(f, to_string(value));
  }
  void field(const Field& f, std::chrono::system_clock::time_point value) {
    field(f, std::string_view(iso8601_utc(value)));
  }
  void field(const Field& f, bool value) {
    text_.plain_key(f.name);
    text_.boolean(value);
  }
  void field(const Field& f, int value) {
    text_.plain_key(f.name);
    text_.number(value);
  }
  void field(const Field& f, std::uint64_t value) {
    text_.plain_key(f.name);
    text_.number(value);
  }
  void field(const Field& f, const std::vector<std::string>& list) {
    text_.plain_key(f.name);
    text_.begin_array();
    for (const std::string& each : list) {
      text_.item();
      text_.string(each);
    }
    text_.end_array();
  }

 private:
  JsonText& text_;
  bool totals_;
};

}  // namespace detail

template <class BasicJsonType> void to_json(BasicJsonType& j, Status status) {
  j = std::string(to_string(status));
}

template <class BasicJsonType>
void to_json(BasicJsonType& j, const EntrySnapshot& entry) {
  j = BasicJsonType::object();
  detail::JsonFields<BasicJsonType> fields(j, false);
  detail::for_each_entry_field(entry, fields);
}

template <class BasicJsonType>
void to_json(BasicJsonType& j, const RegistrySnapshot& snapshot) {
  BasicJsonType progress = BasicJsonType::object();
  detail::JsonFields<BasicJsonType> totals(progress, true);
  detail::for_each_registry_field(snapshot, totals);

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
  // The text of `nlohmann::ordered_json(snapshot).dump(indent, ' ', false,
  // replace)`, written directly.
  std::string out;
  out.reserve(512 + snapshot.entries.size() * (indent < 0 ? 512 : 1024));
  detail::JsonText text(out, indent);
  text.begin_object();
  text.plain_key("progress");
  text.begin_object();
  detail::JsonTextFields totals(text, true);
  detail::for_each_registry_field(snapshot, totals);
  text.end_object();
  text.plain_key("entries");
  text.begin_object();
  detail::JsonTextFields fields(text, false);
  for (const EntrySnapshot& entry : snapshot.entries) {
    text.key(entry.name);
    text.begin_object();
    detail::for_each_entry_field(entry, fields);
    text.end_object();
  }
  text.end_object();
  text.end_object();
  return out;
}

}  // namespace lazyload

#endif  // LAZYLOAD_JSON_HPP_
