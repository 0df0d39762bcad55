// Tests for lazyload/json.hpp: to_json and dump_status.

#include "lazyload/json.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <random>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/catch_compat.hpp"
#include "support/scenario.hpp"
#include "support/snapshot_fixture.hpp"

using lazyload::EntrySnapshot;
using lazyload::RegistrySnapshot;
using lazyload::Status;
using lazyload_test::at_ms;
using lazyload_test::fixed_snapshot;
using lazyload_test::Scenario;
using nlohmann::json;

namespace {

const std::string kFailedMessage = std::string("lazyload: loading '") +
                                   Scenario::kFailed +
                                   "' failed: " + Scenario::kError;

}  // namespace

TEST_CASE("a registry snapshot converts to JSON by argument-dependent lookup",
          "[json]") {
  Scenario scenario;
  const json j = scenario.registry().snapshot();
  const json& p = j.at("progress");
  CHECK(p.at("total") == 7);
  CHECK(p.at("loaded") == 2);
  CHECK(p.at("failed") == 1);
  CHECK(p.at("loading") == 1);
  CHECK(p.at("queued") == 1);
  CHECK(p.at("unloaded") == 2);
  CHECK(p.at("is_loading") == true);
  CHECK(p.at("progress") == 2.0 / 7.0);
  CHECK(p.at("progress_percentage") == 28.57);
  CHECK(p.at("bytes_loaded") == Scenario::kTorchSize + 4096);
  CHECK(p.at("memory_budget") == Scenario::kBudget);
  CHECK(p.at("budget_overshoots") == 0);
  CHECK(p.at("pressure") == "normal");
  CHECK(p.at("ready") == false);
  CHECK(p.at("not_ready") ==
        json::array({Scenario::kFailed, Scenario::kNever}));
  CHECK(j.at("entries").size() == 7);
}

TEST_CASE("each entry carries every documented key with its value", "[json]") {
  Scenario scenario;
  const json entries = json(scenario.registry().snapshot()).at("entries");

  const json& torch = entries.at(Scenario::kTorch);
  CHECK(torch.at("name") == Scenario::kTorch);
  CHECK(torch.at("type") == "lazyload_test::Model");
  CHECK(torch.at("status") == "loaded");
  CHECK(torch.at("priority") == 1);
  CHECK(torch.at("load_time").is_number_float());
  CHECK(torch.at("load_time") >= 0.0);
  CHECK(torch.at("error").is_null());
  CHECK(torch.at("loads") == 1);
  CHECK(torch.at("failures") == 0);
  CHECK(torch.at("evictions") == 0);
  CHECK(torch.at("progress") == 1.0);
  CHECK(torch.at("stage") == "ready");
  CHECK(torch.at("depends_on") == json::array());
  CHECK(torch.at("size_bytes") == Scenario::kTorchSize);
  CHECK(torch.at("evictable") == false);
  CHECK(torch.at("required") == true);
  CHECK(torch.at("last_loaded_at").is_string());
  CHECK(torch.at("uses") == 1);
  CHECK(torch.at("first_load") == 1);
  CHECK(torch.size() == 22);

  const json& failed = entries.at(Scenario::kFailed);
  CHECK(failed.at("status") == "failed");
  CHECK(failed.at("error") == kFailedMessage);
  CHECK(failed.at("failures") == 1);
  CHECK(failed.at("progress") == 0.25);
  CHECK(failed.at("stage") == "open");
  CHECK(failed.at("size_bytes").is_null());
  CHECK(failed.at("last_loaded_at").is_null());
  CHECK(failed.at("depends_on") == json::array({Scenario::kUnicode}));
  CHECK(failed.at("first_load").is_null());

  const json& loading = entries.at(Scenario::kLoading);
  CHECK(loading.at("status") == "loading");
  CHECK(loading.at("progress") == 0.4);
  CHECK(loading.at("stage") == "weights");

  const json& queued = entries.at(Scenario::kQueued);
  CHECK(queued.at("status") == "queued");
  CHECK(queued.at("type") == "double");
  CHECK(queued.at("priority") == 100);
  CHECK(queued.at("stage").is_null());

  const json& unicode = entries.at(Scenario::kUnicode);
  CHECK(unicode.at("status") == "unloaded");
  CHECK(unicode.at("loads") == 1);
  CHECK(unicode.at("last_loaded_at").is_string());
  CHECK(unicode.at("evictable") == true);
  CHECK(unicode.at("size_bytes") == 1000);

  const json& never = entries.at(Scenario::kNever);
  CHECK(never.at("status") == "unloaded");
  CHECK(never.at("loads") == 0);
  CHECK(never.at("last_loaded_at").is_null());
}

TEST_CASE("a status converts to its word", "[json]") {
  for (const Status s : lazyload::kAllStatuses) {
    const json j = s;
    const nlohmann::ordered_json o = s;
    CHECK(j == std::string(lazyload::to_string(s)));
    CHECK(o == std::string(lazyload::to_string(s)));
  }
}

TEST_CASE("dump_status writes the exact documented text", "[json]") {
  const std::string wide = "\xE6\xA8\xA1\xE5\x9E\x8B";  // 模型
  CHECK(
      lazyload::dump_status(fixed_snapshot()) ==
      R"({"progress":{"total":4,"loaded":1,"failed":1,"loading":1,)"
      R"("queued":0,"unloaded":1,"is_loading":true,"progress":0.25,)"
      R"("progress_percentage":25.0,"bytes_loaded":67108864,)"
      R"("memory_budget":1610612736,"budget_overshoots":4,)"
      R"("pressure":"warning","rss_bytes":209715200,"ready":false,)"
      R"("not_ready":["d\nb"]},"entries":{"torch":{"name":"torch",)"
      R"("type":"Model","status":"loaded","priority":1,)"
      R"("load_time":5.804123,)"
      R"("error":"lazyload: loading 'torch' failed: out of memory",)"
      R"("loads":2,"failures":1,"evictions":3,"uses":5,"progress":1.0,)"
      R"("stage":"ready","depends_on":["lazy"],"size_bytes":67108864,)"
      R"("evictable":true,"required":true,)"
      R"("last_loaded_at":"2025-11-25T04:35:02.123Z","first_load":2,"reloading":true,"reload_progress":0.5,"retries":1,"next_retry_at":"2025-11-25T04:35:03.412Z"},")" +
          wide + R"(":{"name":")" + wide +
          R"(","type":"int","status":"loading","priority":2,)"
          R"("load_time":0.0,"error":null,"loads":0,"failures":0,)"
          R"("evictions":0,"uses":0,"progress":0.4,"stage":"weights",)"
          R"("depends_on":[],"size_bytes":512,"evictable":false,)"
          R"("required":false,"last_loaded_at":null,"first_load":null,"reloading":false,"reload_progress":null,"retries":0,"next_retry_at":null},)"
          R"("d\nb":{"name":"d\nb","type":"int","status":"failed",)"
          R"("priority":100,"load_time":0.0003,)"
          R"("error":"lazyload: loading 'd\nb' failed: refused","loads":0,)"
          R"("failures":1,"evictions":0,"uses":0,"progress":0.25,)"
          R"("stage":null,"depends_on":[],"size_bytes":null,)"
          R"("evictable":false,"required":true,"last_loaded_at":null,)"
          R"("first_load":null,"reloading":false,"reload_progress":null,"retries":0,"next_retry_at":null},"lazy":{"name":"lazy","type":"int",)"
          R"("status":"unloaded","priority":100,"load_time":0.2111,)"
          R"("error":null,"loads":1,"failures":0,"evictions":0,"uses":1,)"
          R"("progress":0.0,"stage":null,"depends_on":[],)"
          R"("size_bytes":null,"evictable":false,"required":false,)"
          R"("last_loaded_at":null,"first_load":1,"reloading":false,"reload_progress":null,"retries":0,"next_retry_at":null}}})");
}

TEST_CASE("the keys are the names of the field list, in its order", "[json]") {
  const nlohmann::ordered_json j = fixed_snapshot();
  std::vector<std::string> totals;
  for (const auto& [key, value] : j.at("progress").items()) {
    if (key != "progress_percentage") totals.push_back(key);  // deprecated
  }
  CHECK(totals == lazyload_test::registry_field_names());
  for (const auto& [name, entry] : j.at("entries").items()) {
    INFO("entry: " << name);
    std::vector<std::string> keys;
    for (const auto& [key, value] : entry.items()) keys.push_back(key);
    CHECK(keys == lazyload_test::entry_field_names());
  }
}

TEST_CASE("the registry's progress is a fraction; the percentage stays",
          "[json]") {
  RegistrySnapshot s = fixed_snapshot();
  s.progress = 5.0 / 6.0;
  const json p = json(s).at("progress");
  CHECK(p.at("progress") == 5.0 / 6.0);
  CHECK(p.at("progress_percentage") == 83.33);
}

TEST_CASE("dump_status pretty-prints with the indent asked for", "[json]") {
  const std::string compact = lazyload::dump_status(fixed_snapshot());
  const std::string pretty = lazyload::dump_status(fixed_snapshot(), 2);
  CHECK(compact.find('\n') == std::string::npos);
  CHECK(pretty.rfind("{\n  \"progress\": {\n    \"total\": 4,\n", 0) == 0);
  CHECK(json::parse(pretty) == json::parse(compact));
}

TEST_CASE("dump_status escapes quotes, backslashes and control characters",
          "[json]") {
  Scenario scenario;
  const std::string text = lazyload::dump_status(scenario.registry());
  CHECK(text.find(R"("dqn \"quoted\" \\ back":{)") != std::string::npos);
  CHECK(text.find(R"("new\nline\ttab\u0001":{)") != std::string::npos);
  CHECK(text.find(R"(weights.bin: no such file\n\"second\" line \\ end")") !=
        std::string::npos);
  CHECK(text.find(std::string("\"") + Scenario::kUnicode + "\":{") !=
        std::string::npos);
  CHECK(text.find('\n') == std::string::npos);
}

TEST_CASE("dump_status replaces bytes that are not UTF-8 and stays valid",
          "[json]") {
  // Names are UTF-8: the registry refuses others, so that no two entries
  // print alike. Error messages are whatever a loader threw.
  lazyload::LazyRegistry registry;
  CHECK_THROWS_WITH_AS(registry.add("bad \xFF\xFE utf8", [] { return 1; }),
                       "lazyload: resource name 'bad \\xff\\xfe utf8' is not "
                       "valid UTF-8 at byte 4",
                       lazyload::LazyError);
  registry.add("db",
               []() -> int { throw std::runtime_error("bad \xFF\xFE utf8"); });
  CHECK_THROWS(registry.load("db"));
  const std::string text = lazyload::dump_status(registry);
  CHECK(text.find("\"lazyload: loading 'db' failed: bad "
                  "\xEF\xBF\xBD\xEF\xBF\xBD utf8\"") != std::string::npos);
  const json parsed = json::parse(text);  // throws on invalid UTF-8
  CHECK(parsed.at("entries").size() == 1);
  // nlohmann's default dump() refuses such text; this is why dump_status
  // passes error_handler_t::replace.
  const json j = registry.snapshot();
  CHECK_THROWS_AS(j.dump(), json::type_error);
}

TEST_CASE("dump_status lists entries in registration order, totals first",
          "[json]") {
  Scenario scenario;
  const std::string text = lazyload::dump_status(scenario.registry());
  const std::vector<std::string> order = {
      "\"torch\":{",       "\"dqn \\\"quoted",
      "\"new\\nline",      "\"slow/loading\":{",
      "\"queued one\":{",  std::string("\"") + Scenario::kUnicode,
      "\"never loaded\":{"};
  std::size_t at = text.find("\"entries\":");
  CHECK(text.find("\"progress\":{") < at);
  for (const std::string& key : order) {
    const std::size_t found = text.find(key, at);
    CHECK(found != std::string::npos);
    at = found;
  }
}

TEST_CASE("an empty registry has zero totals, no entries and no budget",
          "[json]") {
  lazyload::LazyRegistry registry;
  // The resident set size is the process's, whatever it is now.
  const std::string text = std::regex_replace(
      lazyload::dump_status(registry),
      std::regex(R"("rss_bytes":(null|[1-9][0-9]*))"), R"("rss_bytes":RSS)");
  CHECK(text ==
        R"({"progress":{"total":0,"loaded":0,"failed":0,"loading":0,)"
        R"("queued":0,"unloaded":0,"is_loading":false,"progress":0.0,)"
        R"("progress_percentage":0.0,"bytes_loaded":0,"memory_budget":null,)"
        R"("budget_overshoots":0,"pressure":"normal","rss_bytes":RSS,)"
        R"("ready":true,"not_ready":[]},"entries":{}})");
}

TEST_CASE("last_loaded_at is ISO 8601 UTC with milliseconds", "[json]") {
  const auto text = [](long long ms) {
    RegistrySnapshot s;
    EntrySnapshot e;
    e.name = "x";
    e.last_loaded_at = at_ms(ms);
    s.entries.push_back(e);
    return json(s).at("entries").at("x").at("last_loaded_at");
  };
  CHECK(text(0).is_null());  // the epoch means never
  CHECK(text(1) == "1970-01-01T00:00:00.001Z");
  CHECK(text(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(text(951782400000) == "2000-02-29T00:00:00.000Z");
  CHECK(text(1709251199999) == "2024-02-29T23:59:59.999Z");
  CHECK(text(1764045302123) == "2025-11-25T04:35:02.123Z");
}

TEST_CASE("dump_status writes the text of nlohmann's dump of the tree",
          "[json]") {
  // dump_status() writes its text directly; it must stay what dumping the
  // converted snapshot writes, byte for byte, for every indent, every kind
  // of value and every byte in a string.
  std::mt19937 random(16);
  const auto random_text = [&random] {
    std::string s;
    const std::size_t n = random() % 12;
    for (std::size_t i = 0; i < n; ++i) {
      switch (random() % 4) {
      case 0:  // any byte: quotes, controls, bytes that are not UTF-8
        s += static_cast<char>(random() % 256);
        break;
      case 1:
        s += "\xE6\xA8\xA1";  // a valid three-byte sequence
        break;
      default:
        s += static_cast<char>('a' + random() % 26);
      }
    }
    return s;
  };
  const double doubles[] = {0.0,  -0.0, 0.1,    1.0 / 3.0, 1e-7,  1e15,
                            1e16, 1e21, 5.8e-5, 123456.75, 1e300, -2.5};
  for (int round = 0; round < 50; ++round) {
    RegistrySnapshot s = round == 0 ? RegistrySnapshot{} : fixed_snapshot();
    for (EntrySnapshot& e : s.entries) {
      e.name += random_text();
      e.error = random() % 2 ? random_text() : std::string();
      e.stage = random_text();
      e.load_time = doubles[random() % std::size(doubles)];
      e.progress = doubles[random() % std::size(doubles)];
      e.priority = static_cast<int>(random() % 2001) - 1000;
      e.depends_on.assign(random() % 3, random_text());
    }
    s.progress = doubles[random() % std::size(doubles)];
    s.not_ready.assign(random() % 3, random_text());
    for (const int indent : {-1, 0, 1, 2, 4}) {
      INFO("round " << round << ", indent " << indent);
      const nlohmann::ordered_json tree = s;
      CHECK(lazyload::dump_status(s, indent) ==
            tree.dump(indent, ' ', false, json::error_handler_t::replace));
    }
  }
}

TEST_CASE("timestamps are ISO 8601 UTC with milliseconds at any date",
          "[json]") {
  // detail::iso8601_utc, around the epoch, on a leap day and at both ends
  // of what system_clock represents here.
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  const auto at = [](std::int64_t ms) {
    return lazyload::detail::iso8601_utc(system_clock::time_point(
        std::chrono::duration_cast<system_clock::duration>(milliseconds(ms))));
  };
  CHECK(at(0) == "1970-01-01T00:00:00.000Z");
  CHECK(at(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(at(951827696789) == "2000-02-29T12:34:56.789Z");
  if (system_clock::duration::period::den == 1000000000) {  // libstdc++
    CHECK(lazyload::detail::iso8601_utc(system_clock::time_point::max()) ==
          "2262-04-11T23:47:16.854Z");
    CHECK(lazyload::detail::iso8601_utc(system_clock::time_point::min()) ==
          "1677-09-21T00:12:43.146Z");
  }
}
