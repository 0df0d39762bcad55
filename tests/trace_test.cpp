// Tests for lazyload/trace.hpp: to_trace_json.

#include "lazyload/trace.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lazyload/registry.hpp"  // to_trace_json(registry)
#include "support/catch_compat.hpp"

using lazyload::LazyRegistry;
using lazyload::LoadRecord;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point at_ns(std::int64_t ns) {
  return Clock::time_point(std::chrono::nanoseconds(ns));
}

double micros(Clock::duration d) {
  return static_cast<double>(
             std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) /
         1e3;
}

// The id of a thread that has finished.
std::thread::id other_thread_id() {
  std::thread t([] {});
  const std::thread::id id = t.get_id();
  t.join();
  return id;
}

std::vector<json> events_with(const json& trace, const std::string& ph) {
  std::vector<json> out;
  for (const json& e : trace.at("traceEvents")) {
    if (e.at("ph") == ph) out.push_back(e);
  }
  return out;
}

}  // namespace

TEST_CASE("to_trace_json writes the exact trace-event text", "[trace]") {
  const std::thread::id main_id = std::this_thread::get_id();
  const std::thread::id worker = other_thread_id();
  LoadRecord a;
  a.name = "torch";
  a.thread = worker;
  a.queued_at = at_ns(1000000);
  a.started_at = at_ns(1012500);
  a.finished_at = at_ns(6816623);
  a.ok = true;
  LoadRecord b;
  b.name = "d\"b";
  b.thread = main_id;
  b.started_at = at_ns(1000001);
  b.finished_at = at_ns(1300001);
  b.ok = false;
  CHECK(lazyload::to_trace_json({a, b}) ==
        "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n"
        "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,"
        "\"args\":{\"name\":\"lazyload\"}},\n"
        "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,"
        "\"args\":{\"name\":\"thread 1\"}},\n"
        "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":2,"
        "\"args\":{\"name\":\"thread 2\"}},\n"
        "{\"name\":\"torch\",\"cat\":\"load\",\"ph\":\"X\",\"ts\":12.500,"
        "\"dur\":5804.123,\"pid\":1,\"tid\":2,"
        "\"args\":{\"ok\":true,\"queued_us\":12.500}},\n"
        "{\"name\":\"torch (queued)\",\"cat\":\"queue\",\"ph\":\"b\",\"id\":1,"
        "\"ts\":0.000,\"pid\":1,\"tid\":2},\n"
        "{\"name\":\"torch (queued)\",\"cat\":\"queue\",\"ph\":\"e\",\"id\":1,"
        "\"ts\":12.500,\"pid\":1,\"tid\":2},\n"
        "{\"name\":\"d\\\"b\",\"cat\":\"load,failed\",\"ph\":\"X\","
        "\"ts\":0.001,\"dur\":300.000,\"pid\":1,\"tid\":1,"
        "\"cname\":\"terrible\",\"args\":{\"ok\":false}}\n"
        "]}\n");
}

TEST_CASE("an empty timeline is a valid trace with only the process name",
          "[trace]") {
  const json trace =
      json::parse(lazyload::to_trace_json(std::vector<LoadRecord>{}));
  REQUIRE(trace.at("traceEvents").size() == 1);
  CHECK(trace.at("traceEvents")[0].at("name") == "process_name");
}

TEST_CASE("a registry's timeline parses and its events match the records",
          "[trace]") {
  lazyload::RegistryOptions options;
  options.workers = 2;
  LazyRegistry registry(options);
  for (const char* name : {"a", "b", "c", "d"}) {
    registry.add(name, [] {
      std::this_thread::sleep_for(2ms);
      return 1;
    });
  }
  registry.add("broken", []() -> int { throw std::runtime_error("no"); });
  registry.add("sync", [] { return 2; });
  registry.load("sync");  // on this thread, never queued
  registry.start_background();
  REQUIRE(registry.wait_idle(10s));

  const std::vector<LoadRecord> records = registry.timeline();
  REQUIRE(records.size() == 6);
  const json trace = json::parse(lazyload::to_trace_json(registry));
  const std::vector<json> loads = events_with(trace, "X");
  REQUIRE(loads.size() == records.size());

  // The same thread gets the same tid, different threads different ones,
  // and the tids are 1, 2, ... each with a thread_name event.
  std::map<std::thread::id, std::int64_t> tid_of;
  std::set<std::int64_t> tids;
  Clock::time_point origin = records[0].started_at;
  for (const LoadRecord& r : records) {
    origin = std::min(origin, r.started_at);
    if (r.queued_at != Clock::time_point{}) {
      origin = std::min(origin, r.queued_at);
    }
  }
  for (std::size_t i = 0; i < records.size(); ++i) {
    const LoadRecord& r = records[i];
    const json& e = loads[i];
    INFO("record " << r.name);
    CHECK(e.at("name") == r.name);
    CHECK(e.at("pid") == 1);
    CHECK(e.at("args").at("ok") == r.ok);
    CHECK(e.at("ts").get<double>() ==
          Approx(micros(r.started_at - origin)).margin(0.0015));
    CHECK(e.at("dur").get<double>() ==
          Approx(micros(r.finished_at - r.started_at)).margin(0.0015));
    const std::int64_t tid = e.at("tid");
    const auto [it, inserted] = tid_of.emplace(r.thread, tid);
    CHECK(it->second == tid);
    if (inserted) CHECK(tids.insert(tid).second);
    const bool queued = r.queued_at != Clock::time_point{};
    CHECK(queued == (r.name != "sync"));
    CHECK(e.at("args").contains("queued_us") == queued);
    if (queued) {
      CHECK(e.at("args").at("queued_us").get<double>() ==
            Approx(micros(r.started_at - r.queued_at)).margin(0.0015));
    }
  }
  CHECK(tids.size() >= 2);  // this thread and at least one worker
  std::int64_t expected = 1;
  for (const std::int64_t tid : tids) CHECK(tid == expected++);
  std::set<std::int64_t> named;
  for (const json& m : events_with(trace, "M")) {
    if (m.at("name") == "thread_name") {
      named.insert(m.at("tid").get<std::int64_t>());
    }
  }
  CHECK(named == tids);

  // One begin/end pair per queue wait, on the loading thread's tid.
  const std::vector<json> begins = events_with(trace, "b");
  const std::vector<json> ends = events_with(trace, "e");
  REQUIRE(begins.size() == 5);
  REQUIRE(ends.size() == 5);
  double earliest = 1e300;
  for (std::size_t i = 0; i < begins.size(); ++i) {
    CHECK(begins[i].at("id") == ends[i].at("id"));
    CHECK(begins[i].at("cat") == "queue");
    CHECK(begins[i].at("ts").get<double>() <= ends[i].at("ts").get<double>());
    earliest = std::min(earliest, begins[i].at("ts").get<double>());
  }
  for (const json& e : loads) {
    earliest = std::min(earliest, e.at("ts").get<double>());
  }
  CHECK(earliest == 0.0);  // relative to the earliest record
}

TEST_CASE("awkward names come out as valid JSON strings", "[trace]") {
  LoadRecord r;
  r.name = "q\"uote\\ new\nline \x01 bad \xFF end";
  r.thread = std::this_thread::get_id();
  r.started_at = at_ns(5);
  r.finished_at = at_ns(10);
  r.ok = true;
  const std::string text = lazyload::to_trace_json({r});
  const json trace = json::parse(text);  // throws on invalid UTF-8
  CHECK(events_with(trace, "X").at(0).at("name") ==
        "q\"uote\\ new\nline \x01 bad \xEF\xBF\xBD end");
  CHECK(text.find(R"("q\"uote\\ new\nline \u0001 bad )") != std::string::npos);
}
