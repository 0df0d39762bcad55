// Tests for lazyload/json.hpp: to_json and dump_status.

#include "lazyload/json.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "support/catch_compat.hpp"
#include "support/scenario.hpp"

using lazyload::EntrySnapshot;
using lazyload::RegistrySnapshot;
using lazyload::Status;
using lazyload_test::Scenario;
using nlohmann::json;

namespace {

const std::string kFailedMessage = std::string("lazyload: loading '") +
                                   Scenario::kFailed +
                                   "' failed: " + Scenario::kError;

std::chrono::system_clock::time_point at_ms(long long ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

// A snapshot with fixed values, for exact text.
RegistrySnapshot fixed_snapshot() {
  RegistrySnapshot s;
  EntrySnapshot e;
  e.name = "torch";
  e.type = "Model";
  e.status = Status::loaded;
  e.priority = 1;
  e.load_time = 5.8041234567;
  e.loads = 2;
  e.failures = 1;
  e.evictions = 3;
  e.progress = 1.0;
  e.stage = "ready";
  e.depends_on = {"cuda"};
  e.size_bytes = 1024;
  e.evictable = true;
  e.required = true;
  e.last_loaded_at = at_ms(1764045302123);
  s.entries.push_back(e);
  EntrySnapshot f;
  f.name = "cuda";
  f.type = "int";
  f.status = Status::failed;
  f.error = "lazyload: loading 'cuda' failed: no device";
  s.entries.push_back(f);
  s.total = 6;
  s.loaded = 5;
  s.failed = 1;
  s.progress = 5.0 / 6.0;
  s.bytes_loaded = 1024;
  s.budget_overshoots = 4;
  s.not_ready = {"cuda"};
  return s;
}

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
  CHECK(p.at("progress_percentage") == 28.57);
  CHECK(p.at("bytes_loaded") == Scenario::kTorchSize + 4096);
  CHECK(p.at("memory_budget") == Scenario::kBudget);
  CHECK(p.at("budget_overshoots") == 0);
  CHECK(p.at("ready") == false);
  CHECK(p.at("not_ready") ==
        json::array({Scenario::kFailed, Scenario::kInvalid}));
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
  CHECK(torch.size() == 16);

  const json& failed = entries.at(Scenario::kFailed);
  CHECK(failed.at("status") == "failed");
  CHECK(failed.at("error") == kFailedMessage);
  CHECK(failed.at("failures") == 1);
  CHECK(failed.at("progress") == 0.25);
  CHECK(failed.at("stage") == "open");
  CHECK(failed.at("size_bytes").is_null());
  CHECK(failed.at("last_loaded_at").is_null());
  CHECK(failed.at("depends_on") == json::array({Scenario::kUnicode}));

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

  const json& invalid = entries.at(Scenario::kInvalid);
  CHECK(invalid.at("status") == "unloaded");
  CHECK(invalid.at("loads") == 0);
  CHECK(invalid.at("last_loaded_at").is_null());
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
  CHECK(lazyload::dump_status(fixed_snapshot()) ==
        R"({"progress":{"total":6,"loaded":5,"failed":1,"loading":0,)"
        R"("queued":0,"unloaded":0,"is_loading":false,)"
        R"("progress_percentage":83.33,"bytes_loaded":1024,)"
        R"("memory_budget":null,"budget_overshoots":4,"ready":false,)"
        R"("not_ready":["cuda"]},"entries":{"torch":{"name":"torch",)"
        R"("type":"Model","status":"loaded","priority":1,)"
        R"("load_time":5.804123,"error":null,"loads":2,"failures":1,)"
        R"("evictions":3,"progress":1.0,"stage":"ready",)"
        R"("depends_on":["cuda"],"size_bytes":1024,"evictable":true,)"
        R"("required":true,"last_loaded_at":"2025-11-25T04:35:02.123Z"},)"
        R"("cuda":{"name":"cuda","type":"int","status":"failed",)"
        R"("priority":100,"load_time":0.0,)"
        R"("error":"lazyload: loading 'cuda' failed: no device","loads":0,)"
        R"("failures":0,"evictions":0,"progress":0.0,"stage":null,)"
        R"("depends_on":[],"size_bytes":null,"evictable":false,)"
        R"("required":false,"last_loaded_at":null}}})");
}

TEST_CASE("dump_status pretty-prints with the indent asked for", "[json]") {
  const std::string compact = lazyload::dump_status(fixed_snapshot());
  const std::string pretty = lazyload::dump_status(fixed_snapshot(), 2);
  CHECK(compact.find('\n') == std::string::npos);
  CHECK(pretty.rfind("{\n  \"progress\": {\n    \"total\": 6,\n", 0) == 0);
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
  Scenario scenario;
  const std::string text = lazyload::dump_status(scenario.registry());
  CHECK(text.find("\"bad \xEF\xBF\xBD\xEF\xBF\xBD utf8\":{") !=
        std::string::npos);
  const json parsed = json::parse(text);  // throws on invalid UTF-8
  CHECK(parsed.at("entries").size() == 7);
  // nlohmann's default dump() refuses such names; this is why dump_status
  // passes error_handler_t::replace.
  const json j = scenario.registry().snapshot();
  CHECK_THROWS_AS(j.dump(), json::type_error);
}

TEST_CASE("dump_status lists entries in registration order, totals first",
          "[json]") {
  Scenario scenario;
  const std::string text = lazyload::dump_status(scenario.registry());
  const std::vector<std::string> order = {
      "\"torch\":{",
      "\"dqn \\\"quoted",
      "\"new\\nline",
      "\"slow/loading\":{",
      "\"queued one\":{",
      std::string("\"") + Scenario::kUnicode,
      "\"bad "};
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
  CHECK(lazyload::dump_status(registry) ==
        R"({"progress":{"total":0,"loaded":0,"failed":0,"loading":0,)"
        R"("queued":0,"unloaded":0,"is_loading":false,)"
        R"("progress_percentage":0.0,"bytes_loaded":0,"memory_budget":null,)"
        R"("budget_overshoots":0,"ready":true,"not_ready":[]},"entries":{}})");
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
