// lazyload/trace.hpp
//
// The load timeline as Chrome trace-event JSON, which Perfetto
// (ui.perfetto.dev, "Open trace file") and chrome://tracing display: one bar
// per load on the track of the thread that ran it, and how long each load
// waited in the background queue. Standard library only.
//
// Example Usage:
//
//   #include <lazyload/trace.hpp>
//   #include <lazyload/registry.hpp>  // for a registry to render
//
//   registry.start_background();
//   registry.wait_idle(std::chrono::minutes(1));
//   std::ofstream("startup.trace.json") << lazyload::to_trace_json(registry);
//
// The document:
//
//   {"displayTimeUnit":"ms","traceEvents":[
//   {"name":"process_name","ph":"M","pid":1,"tid":0,"args":{"name":...}},
//   {"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{"name":"thread 1"}},
//   {"name":"torch","cat":"load","ph":"X","ts":12.500,"dur":5804.123,
//    "pid":1,"tid":1,"args":{"ok":true,"queued_us":12.500}},
//   {"name":"torch (queued)","cat":"queue","ph":"b","id":1,"ts":0.000,...},
//   {"name":"torch (queued)","cat":"queue","ph":"e","id":1,"ts":12.500,...}
//   ]}
//
// Rationale:
//
// * A load is a complete event (`"ph":"X"`): it starts and ends on one
//   thread, so it belongs on that thread's track. `tid` is a small number
//   per std::thread::id, 1 for the thread that started loading first, the
//   same for every load of that thread, and each gets a thread_name event.
// * Time in the queue is not spent on any thread, and queue waits overlap,
//   which complete events on one track must not do; so it is an async event
//   pair (`"ph":"b"` / `"e"`), which viewers stack on tracks of their own,
//   and also `queued_us` in the load's args.
// * Timestamps are microseconds (the format's unit) relative to the earliest
//   time in the records, with nanosecond decimals; steady_clock has no
//   meaningful epoch to show.
// * Names are arbitrary bytes: they are escaped and made valid UTF-8 by
//   detail/text.hpp, as in every lazyload output.

#ifndef LAZYLOAD_TRACE_HPP_
#define LAZYLOAD_TRACE_HPP_

#include <algorithm>    // std::min, std::sort
#include <chrono>       // std::chrono::steady_clock
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int64_t, std::uint64_t
#include <map>          // std::map
#include <string>       // std::string
#include <thread>       // std::thread::id
#include <type_traits>  // std::enable_if_t, std::is_same_v
#include <vector>       // std::vector

#include "detail/text.hpp"
#include "events.hpp"  // LoadRecord

namespace lazyload {

class LazyRegistry;

// to_trace_json()
//
// Returns `records` (or `registry.timeline()`) as a Chrome trace-event JSON
// object: process and thread-name metadata events, a complete event per
// load on its thread's track, and an async begin/end pair per queue wait.
// Always valid UTF-8 and valid JSON. The registry overload is a template
// so that this header needs only the records (events.hpp); include
// <lazyload/registry.hpp> to call it.
// Thread safety: safe to call concurrently, also while loads run.
// Throws: std::bad_alloc only.
// Invalidates: none.
std::string to_trace_json(const std::vector<LoadRecord>& records);
template <class Registry,
          std::enable_if_t<std::is_same_v<Registry, LazyRegistry>, int> = 0>
std::string to_trace_json(const Registry& registry) {
  return to_trace_json(registry.timeline());
}

// End of public interfaces.
// Implementation details follow.

namespace detail {

// Writes trace events, one per line, with timestamps relative to `origin`.
class TraceWriter {
 public:
  TraceWriter(std::string& out, std::chrono::steady_clock::time_point origin)
      : out_(out), origin_(origin) {}

  void metadata(const char* what, std::uint64_t tid, const char* key,
                const std::string& value) {
    begin_event();
    out_ += R"({"name":")";
    out_ += what;
    out_ += R"(","ph":"M","pid":1,"tid":)";
    append_number(out_, tid);
    out_ += R"(,"args":{")";
    out_ += key;
    out_ += R"(":)";
    append_json_string(out_, value);
    out_ += "}}";
  }

  void load(const LoadRecord& r, std::uint64_t tid) {
    begin_event();
    out_ += R"({"name":)";
    append_json_string(out_, r.name);
    out_ += r.ok ? R"(,"cat":"load")" : R"(,"cat":"load,failed")";
    out_ += R"(,"ph":"X","ts":)";
    time(r.started_at);
    out_ += R"(,"dur":)";
    append_microseconds(out_, nanoseconds(r.finished_at - r.started_at));
    out_ += R"(,"pid":1,"tid":)";
    append_number(out_, tid);
    if (!r.ok) out_ += R"(,"cname":"terrible")";
    out_ += R"(,"args":{"ok":)";
    out_ += r.ok ? "true" : "false";
    if (queued(r)) {
      out_ += R"(,"queued_us":)";
      append_microseconds(out_, nanoseconds(r.started_at - r.queued_at));
    }
    out_ += "}}";
  }

  // The async pair of a queue wait; `id` tells pairs apart.
  void queue_wait(const LoadRecord& r, std::uint64_t tid, std::uint64_t id) {
    for (const bool end : {false, true}) {
      begin_event();
      out_ += R"({"name":)";
      append_json_string(out_, r.name + " (queued)");
      out_ += R"(,"cat":"queue","ph":")";
      out_ += end ? 'e' : 'b';
      out_ += R"(","id":)";
      append_number(out_, id);
      out_ += R"(,"ts":)";
      time(end ? r.started_at : r.queued_at);
      out_ += R"(,"pid":1,"tid":)";
      append_number(out_, tid);
      out_ += "}";
    }
  }

  static bool queued(const LoadRecord& r) {
    return r.queued_at != std::chrono::steady_clock::time_point{};
  }

 private:
  static std::int64_t nanoseconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  }

  void time(std::chrono::steady_clock::time_point t) {
    append_microseconds(out_, nanoseconds(t - origin_));
  }

  void begin_event() {
    out_ += first_ ? "\n" : ",\n";
    first_ = false;
  }

  std::string& out_;
  const std::chrono::steady_clock::time_point origin_;
  bool first_ = true;
};

}  // namespace detail

namespace detail {

// The earliest time any record mentions; the epoch when there are none.
inline std::chrono::steady_clock::time_point trace_origin(
    const std::vector<LoadRecord>& records) {
  std::chrono::steady_clock::time_point origin{};
  bool have_origin = false;
  for (const LoadRecord& r : records) {
    const auto first = TraceWriter::queued(r)
                           ? std::min(r.queued_at, r.started_at)
                           : r.started_at;
    origin = have_origin ? std::min(origin, first) : first;
    have_origin = true;
  }
  return origin;
}

// Thread numbers from 1, in the order the threads started their first load.
inline std::map<std::thread::id, std::uint64_t> trace_thread_numbers(
    const std::vector<LoadRecord>& records) {
  std::vector<const LoadRecord*> by_start;
  by_start.reserve(records.size());
  for (const LoadRecord& r : records) by_start.push_back(&r);
  // Ties in record order (the pointers are into one vector): a stable sort,
  // for less compile time than std::stable_sort instantiates.
  std::sort(by_start.begin(), by_start.end(),
            [](const LoadRecord* a, const LoadRecord* b) {
              return a->started_at != b->started_at
                         ? a->started_at < b->started_at
                         : a < b;
            });
  std::map<std::thread::id, std::uint64_t> tids;
  for (const LoadRecord* r : by_start) {
    tids.emplace(r->thread, tids.size() + 1);
  }
  return tids;
}

// The process and thread-name metadata events, threads in number order.
inline void write_trace_metadata(
    TraceWriter& writer, const std::map<std::thread::id, std::uint64_t>& tids) {
  writer.metadata("process_name", 0, "name", "lazyload");
  std::vector<std::uint64_t> numbers;
  numbers.reserve(tids.size());
  for (const auto& [id, tid] : tids) numbers.push_back(tid);
  std::sort(numbers.begin(), numbers.end());
  for (const std::uint64_t tid : numbers) {
    writer.metadata("thread_name", tid, "name",
                    "thread " + std::to_string(tid));
  }
}

}  // namespace detail

inline std::string to_trace_json(const std::vector<LoadRecord>& records) {
  using detail::TraceWriter;
  const std::map<std::thread::id, std::uint64_t> tids =
      detail::trace_thread_numbers(records);
  std::string out;
  out.reserve(256 + records.size() * 320);
  out += R"({"displayTimeUnit":"ms","traceEvents":[)";
  TraceWriter writer(out, detail::trace_origin(records));
  detail::write_trace_metadata(writer, tids);
  std::uint64_t queue_id = 0;
  for (const LoadRecord& r : records) {
    const std::uint64_t tid = tids.at(r.thread);
    writer.load(r, tid);
    if (TraceWriter::queued(r)) writer.queue_wait(r, tid, ++queue_id);
  }
  out += "\n]}\n";
  return out;
}

}  // namespace lazyload

#endif  // LAZYLOAD_TRACE_HPP_
