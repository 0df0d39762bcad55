// Tests for lazyload/http.hpp: respond.

#include "lazyload/http.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/catch_compat.hpp"
#include "support/scenario.hpp"

using lazyload::EntryOptions;
using lazyload::HttpResponse;
using lazyload::LazyRegistry;
using lazyload::RespondOptions;
using lazyload_test::Scenario;
using nlohmann::json;

namespace {

json body_of(const HttpResponse& r) { return json::parse(r.body); }

int events_named(const json& trace, const std::string& name) {
  int n = 0;
  for (const json& e : trace.at("traceEvents")) n += e.at("name") == name;
  return n;
}

// `text` with the process's resident set size zeroed: it changes between
// two renderings of the same registry, everything else does not.
std::string without_rss(const std::string& text) {
  static const std::regex kJson("\"rss_bytes\":[0-9]+");
  static const std::regex kPrometheus("\nlazyload_rss_bytes [0-9]+");
  return std::regex_replace(std::regex_replace(text, kJson, "\"rss_bytes\":0"),
                            kPrometheus, "\nlazyload_rss_bytes 0");
}

// respond() with control on, as most tests here need.
HttpResponse serve(LazyRegistry& registry, std::string_view method,
                   std::string_view target, std::string_view body = {}) {
  RespondOptions control;
  control.control = true;
  return lazyload::respond(registry, method, target, body, control);
}

// respond() with the default options: read-only.
HttpResponse read_only(LazyRegistry& registry, std::string_view method,
                       std::string_view target) {
  return lazyload::respond(registry, method, target);
}

}  // namespace

TEST_CASE("GET /api/status answers the status JSON", "[http]") {
  Scenario scenario;
  const HttpResponse r = serve(scenario.registry(), "GET", "/api/status");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(without_rss(r.body) ==
        without_rss(lazyload::dump_status(scenario.registry()) + "\n"));
  CHECK(r.allow.empty());
  CHECK(body_of(r).at("progress").at("total") == 7);
}

TEST_CASE("GET /metrics answers the Prometheus exposition", "[http]") {
  Scenario scenario;
  const HttpResponse r = serve(scenario.registry(), "GET", "/metrics");
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(without_rss(r.body) ==
        without_rss(lazyload::to_prometheus(scenario.registry())));
}

TEST_CASE("GET /metrics can answer the registry-wide series only", "[http]") {
  // For a registry too large to expose entry by entry.
  Scenario scenario;
  RespondOptions options;
  options.metrics.per_entry = false;
  const HttpResponse r =
      lazyload::respond(scenario.registry(), "GET", "/metrics", {}, options);
  CHECK(r.status == 200);
  lazyload::PrometheusOptions totals;
  totals.per_entry = false;
  CHECK(without_rss(r.body) ==
        without_rss(lazyload::to_prometheus(scenario.registry(), totals)));
  CHECK(r.body.find("lazyload_entry_") == std::string::npos);
  CHECK(r.body.find("lazyload_entries{") != std::string::npos);
}

TEST_CASE("GET /api/trace answers the load timeline", "[http]") {
  LazyRegistry registry;
  registry.add("model", [] { return 1; });
  registry.load("model");
  const HttpResponse r = serve(registry, "GET", "/api/trace");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(r.body == lazyload::to_trace_json(registry));
  CHECK(events_named(body_of(r), "model") == 1);
}

TEST_CASE("GET /healthz answers 200 while the process serves", "[http]") {
  LazyRegistry registry;
  registry.add(
      "broken", []() -> int { throw std::runtime_error("no"); },
      [] {
        EntryOptions o;
        o.required = true;
        return o;
      }());
  const HttpResponse r = serve(registry, "GET", "/healthz");
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/plain; charset=utf-8");
  CHECK(r.body == "ok\n");
}

TEST_CASE("GET /readyz answers 503 with what is missing or failed, then 200",
          "[http]") {
  LazyRegistry registry;
  EntryOptions required;
  required.required = true;
  std::atomic<bool> fail{true};
  registry.add(
      "db",
      [&]() -> int {
        if (fail) throw std::runtime_error("connection refused");
        return 1;
      },
      required);
  registry.add(
      "model", [] { return 2; }, required);
  registry.add("optional", []() -> int { throw std::runtime_error("no"); });

  HttpResponse r = serve(registry, "GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(r.content_type == "application/json");
  json j = body_of(r);
  CHECK(j.at("ready") == false);
  CHECK(j.at("not_ready") == json::array({"db", "model"}));
  CHECK(j.at("entries").at("db").at("status") == "unloaded");
  CHECK(j.at("entries").size() == 2);

  registry.load("model");
  CHECK_THROWS(registry.load("db"));
  CHECK_THROWS(registry.load("optional"));
  r = serve(registry, "GET", "/readyz");
  CHECK(r.status == 503);
  j = body_of(r);
  CHECK(j.at("not_ready") == json::array({"db"}));
  CHECK(j.at("entries").at("db").at("status") == "failed");
  CHECK(j.at("entries").at("db").at("error") ==
        "lazyload: loading 'db' failed: connection refused");

  fail = false;
  registry.load("db");
  r = serve(registry, "GET", "/readyz");
  CHECK(r.status == 200);  // the failed optional entry does not count
  CHECK(r.body == "{\"ready\":true,\"not_ready\":[]}\n");
}

TEST_CASE(
    "GET /readyz writes the text of the tree it describes, escapes "
    "included",
    "[http]") {
  // The 503 body is written directly, not through a JSON tree; it must stay
  // byte for byte what dumping the tree of the same values gives.
  LazyRegistry registry;
  EntryOptions required;
  required.required = true;
  registry.add(
      "plain", [] { return 1; }, required);
  registry.add(
      "quote\"back\\slash\ttab\x01", [] { return 1; }, required);
  registry.add(
      "caf\xc3\xa9 \xe2\x9c\x93",
      []() -> int { throw std::runtime_error("bad \xff byte"); }, required);
  registry.add("optional", [] { return 1; });
  CHECK_THROWS(registry.load("caf\xc3\xa9 \xe2\x9c\x93"));
  const HttpResponse r = serve(registry, "GET", "/readyz");
  CHECK(r.status == 503);

  const lazyload::RegistrySnapshot snapshot = registry.snapshot();
  nlohmann::ordered_json expected;
  expected["ready"] = false;
  expected["not_ready"] = snapshot.not_ready;
  nlohmann::ordered_json entries = nlohmann::ordered_json::object();
  for (const lazyload::EntrySnapshot& e : snapshot.entries) {
    if (e.required) entries[e.name] = nlohmann::ordered_json(e);
  }
  expected["entries"] = entries;
  CHECK(without_rss(r.body) ==
        without_rss(expected.dump(-1, ' ', false,
                                  nlohmann::json::error_handler_t::replace) +
                    "\n"));
}

TEST_CASE("GET /readyz lists every missing entry of 40000 in linear time",
          "[http]") {
  // A lookup per missing entry made this quadratic: 160 s for 40000
  // entries in a Debug build on a busy two-core machine. Linear, it takes
  // about 3 s there; the bound separates the two with a wide margin.
  constexpr int kEntries = 40000;
  LazyRegistry registry;
  EntryOptions required;
  required.required = true;
  for (int i = 0; i < kEntries; ++i) {
    registry.add(
        "e" + std::to_string(i), [] { return 1; }, required);
  }
  registry.load("e1");
  const auto start = std::chrono::steady_clock::now();
  const HttpResponse r = serve(registry, "GET", "/readyz");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(r.status == 503);
  // Parsed into json, whose objects are maps: ordered_json's linear lookup
  // would make the parse itself quadratic.
  const json j = body_of(r);
  const json& not_ready = j.at("not_ready");
  const json& entries = j.at("entries");
  REQUIRE(not_ready.size() == kEntries - 1);
  REQUIRE(entries.size() == kEntries - 1);
  int i = 0;
  for (const json& name : not_ready) {
    if (i == 1) ++i;  // loaded
    const std::string expected = "e" + std::to_string(i++);
    if (name != expected || entries.count(expected) == 0) {
      FAIL_CHECK(expected << " is missing or out of order");
      break;
    }
  }
  CHECK(std::chrono::duration<double>(elapsed).count() < 60.0);
}

TEST_CASE("POST /api/load?wait=1 loads and answers the loaded entry",
          "[http]") {
  LazyRegistry registry;
  std::atomic<int> runs{0};
  registry.add("model", [&] {
    ++runs;
    return 1;
  });
  const HttpResponse r = serve(registry, "POST", "/api/load/model?wait=1");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(registry.entry("model").is_loaded());
  CHECK(runs == 1);
  const json j = body_of(r);
  CHECK(j.at("name") == "model");
  CHECK(j.at("status") == "loaded");
  CHECK(j.at("loads") == 1);
  // Loading a loaded entry answers 200 without running the loader again,
  // whether it waits or not.
  CHECK(serve(registry, "POST", "/api/load/model?x&wait=true").status == 200);
  CHECK(serve(registry, "POST", "/api/load/model").status == 200);
  CHECK(runs == 1);
}

TEST_CASE("POST /api/load answers 202 at once and loads in the background",
          "[http]") {
  lazyload_test::Gate gate;  // declared first: outlives the registry's worker
  lazyload::RegistryOptions options;
  options.workers = 1;
  LazyRegistry registry(options);
  registry.add("slow", [&] {
    gate.wait();
    return 1;
  });
  // Answered while the loader is held at the gate: nothing waits for it.
  const HttpResponse r = serve(registry, "POST", "/api/load/slow?wait=0");
  CHECK(r.status == 202);
  CHECK(r.content_type == "application/json");
  const json j = body_of(r);
  CHECK(j.at("name") == "slow");
  CHECK((j.at("status") == "queued" || j.at("status") == "loading"));
  CHECK_FALSE(registry.entry("slow").is_loaded());
  gate.open();
  CHECK(registry.wait_idle(std::chrono::seconds(30)));
  CHECK(registry.entry("slow").is_loaded());
  CHECK(body_of(serve(registry, "GET", "/api/status"))
            .at("entries")
            .at("slow")
            .at("status") == "loaded");
}

TEST_CASE("by default respond is read-only: POST answers 403, no buttons",
          "[http]") {
  LazyRegistry registry;
  registry.add("model", [] { return 1; });
  registry.load("model");
  for (const char* target :
       {"/api/load/model", "/api/load/model?wait=1", "/api/unload/model",
        "/api/reload/model", "/api/cancel/model", "/api/load/ghost",
        "/api/unload/%zz"}) {
    INFO(target);
    const HttpResponse r = read_only(registry, "POST", target);
    CHECK(r.status == 403);
    CHECK(r.content_type == "application/json");
    const std::string path =
        std::string(target).substr(0, std::string(target).find('?'));
    CHECK(body_of(r).at("error") ==
          "lazyload: control is off, so POST '" + path +
              "' is refused; to allow it, pass respond() a RespondOptions "
              "with control = true (C++20: RespondOptions{.control = true}; "
              "C++17: RespondOptions options; options.control = true;)");
  }
  CHECK(registry.entry("model").is_loaded());
  // The other answers do not change; a GET of a POST route is still 405.
  CHECK(read_only(registry, "GET", "/api/load/model").status == 405);
  CHECK(read_only(registry, "GET", "/api/status").status == 200);
  CHECK(read_only(registry, "GET", "/readyz").status == 200);

  const std::string page = read_only(registry, "GET", "/").body;
  CHECK(page == lazyload::status_page_html());
  CHECK(page.find("const control = false;") != std::string::npos);
  const std::string with_control = serve(registry, "GET", "/").body;
  RespondOptions control;
  control.control = true;
  CHECK(with_control == lazyload::status_page_html(control));
  CHECK(with_control.find("const control = true;") != std::string::npos);
  // The two pages differ in that one line only.
  CHECK(with_control.size() + 1 == page.size());
}

TEST_CASE("POST /api/unload unloads and answers the entry's JSON", "[http]") {
  LazyRegistry registry;
  registry.add("model", [] { return 1; });
  registry.load("model");
  const HttpResponse r = serve(registry, "POST", "/api/unload/model");
  CHECK(r.status == 200);
  CHECK_FALSE(registry.entry("model").is_loaded());
  CHECK(body_of(r).at("status") == "unloaded");
}

TEST_CASE("a failed load answers 500 with the message", "[http]") {
  LazyRegistry registry;
  registry.add("db", []() -> int { throw std::runtime_error("refused"); });
  const HttpResponse r = serve(registry, "POST", "/api/load/db?wait=1");
  CHECK(r.status == 500);
  CHECK(r.content_type == "application/json");
  const json j = body_of(r);
  CHECK(j.at("error") == "lazyload: loading 'db' failed: refused");
  CHECK(j.at("entry").at("status") == "failed");
}

TEST_CASE("unknown names and paths answer 404 with a JSON error", "[http]") {
  LazyRegistry registry;
  HttpResponse r = serve(registry, "POST", "/api/load/ghost");
  CHECK(r.status == 404);
  CHECK(r.content_type == "application/json");
  CHECK(r.body ==
        "{\"error\":\"lazyload: resource 'ghost' is not registered\"}\n");
  r = serve(registry, "POST", "/api/unload/gh%20ost");
  CHECK(r.status == 404);
  CHECK(body_of(r).at("error") ==
        "lazyload: resource 'gh ost' is not registered");
  r = serve(registry, "GET", "/nope");
  CHECK(r.status == 404);
  CHECK(r.body == "{\"error\":\"lazyload: no route for '/nope'\"}\n");
  CHECK(serve(registry, "GET", "/api/status/").status == 404);
  CHECK(serve(registry, "POST", "/api/load/").status == 404);
}

TEST_CASE("names in paths are percent-decoded", "[http]") {
  LazyRegistry registry;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"my model", "/api/load/my%20model"},
      {"a/b", "/api/load/a%2Fb"},
      {"a/b/c", "/api/load/a/b%2fc"},  // a raw slash is part of the name too
      {"\xC3\xBCn\xC3\xAF", "/api/load/%C3%BCn%c3%af"},
      {"100%", "/api/load/100%25"},
      {"q?x#y", "/api/load/q%3Fx%23y?ignored=1"},
      {"a+b", "/api/load/a+b"},  // '+' is a plus in a path
  };
  for (const auto& [name, target] : cases) {
    registry.add(name, [] { return 1; });
  }
  for (const auto& [name, target] : cases) {
    INFO(target);
    const HttpResponse r = serve(registry, "POST", target);
    CHECK(r.status == 202);
    CHECK(body_of(r).at("name") == name);
    CHECK(registry.wait_idle(std::chrono::seconds(30)));
    CHECK(registry.entry(name).is_loaded());
  }
  CHECK(body_of(serve(registry, "POST", "/api/unload/a%2Fb")).at("name") ==
        "a/b");
  // A name that decodes to bytes that are not UTF-8 cannot be registered,
  // so it is never found; the error message stays valid UTF-8.
  CHECK_THROWS_AS(registry.add("bad \xFF", [] { return 1; }),
                  lazyload::LazyError);
  const HttpResponse r = serve(registry, "POST", "/api/load/bad%20%FF");
  CHECK(r.status == 404);
  CHECK(body_of(r).at("error") ==
        "lazyload: resource 'bad \xEF\xBF\xBD' is not registered");
}

TEST_CASE("a malformed percent-escape answers 400", "[http]") {
  LazyRegistry registry;
  for (const char* target : {"/api/load/%zz", "/api/load/a%4", "/api/load/%"}) {
    INFO(target);
    const HttpResponse r = serve(registry, "POST", target);
    CHECK(r.status == 400);
    CHECK(body_of(r).at("error").get<std::string>().rfind(
              "lazyload: bad percent-encoding in '", 0) == 0);
  }
}

TEST_CASE("other methods answer 405 with the allowed ones", "[http]") {
  LazyRegistry registry;
  registry.add("model", [] { return 1; });
  HttpResponse r = serve(registry, "DELETE", "/api/status");
  CHECK(r.status == 405);
  CHECK(r.allow == "GET, HEAD");
  CHECK(r.body ==
        "{\"error\":\"lazyload: method 'DELETE' is not allowed for "
        "'/api/status'\"}\n");
  r = serve(registry, "GET", "/api/load/model");
  CHECK(r.status == 405);
  CHECK(r.allow == "POST");
  CHECK_FALSE(registry.entry("model").is_loaded());
  for (const char* path :
       {"/", "/metrics", "/api/trace", "/healthz", "/readyz"}) {
    CHECK(serve(registry, "POST", path).status == 405);
  }
  CHECK(serve(registry, "PUT", "/api/unload/model").status == 405);
}

TEST_CASE("HEAD answers as GET, the query is ignored, bodies are ignored",
          "[http]") {
  LazyRegistry registry;
  registry.add("model", [] { return 1; });
  const HttpResponse get = serve(registry, "GET", "/api/status");
  const HttpResponse head = serve(registry, "HEAD", "/api/status?x=1");
  CHECK(head.status == 200);
  CHECK(without_rss(head.body) == without_rss(get.body));
  CHECK(serve(registry, "GET", "/metrics?name[]=x", "junk").status == 200);
  const HttpResponse r =
      serve(registry, "POST", "/api/load/model?wait=1", "{not json");
  CHECK(r.status == 200);
  CHECK(registry.entry("model").is_loaded());
}

TEST_CASE("a request target in absolute form is answered as its path",
          "[http]") {
  LazyRegistry registry;
  registry.add("my model", [] { return 1; });
  const HttpResponse origin = serve(registry, "GET", "/api/status");
  for (const char* target :
       {"http://localhost/api/status", "http://127.0.0.1:8080/api/status",
        "HTTPS://example.com:443/api/status?x=1", "hTtP://[::1]:80/api/status",
        "http://user@host/api/status#frag"}) {
    INFO(target);
    const HttpResponse r = serve(registry, "GET", target);
    CHECK(r.status == 200);
    CHECK(without_rss(r.body) == without_rss(origin.body));
  }
  // RFC 9112, 3.2.2: an empty path is "/".
  CHECK(read_only(registry, "GET", "http://host").body ==
        lazyload::status_page_html());
  CHECK(serve(registry, "GET", "http://host?x=1").status == 200);
  CHECK(serve(registry, "GET", "http://host/readyz").status == 200);
  CHECK(serve(registry, "GET", "http://host/nope").status == 404);
  const HttpResponse r =
      serve(registry, "POST", "http://host:1/api/load/my%20model?wait=1");
  CHECK(r.status == 200);
  CHECK(registry.entry("my model").is_loaded());
}

TEST_CASE("a target neither in origin nor in absolute form answers 400",
          "[http]") {
  LazyRegistry registry;
  for (const char* target : {"", "api/status", "host:80", "http:/api/status",
                             "ftp://h/api/status", "http//h/", "://h/"}) {
    INFO("'" << target << "'");
    const HttpResponse r = serve(registry, "GET", target);
    CHECK(r.status == 400);
    CHECK(body_of(r).at("error") ==
          "lazyload: bad request target '" + std::string(target) + "'");
  }
  // The asterisk form is for OPTIONS only.
  HttpResponse r = serve(registry, "OPTIONS", "*");
  CHECK(r.status == 204);
  CHECK(r.allow == "GET, HEAD, POST");
  CHECK(r.body.empty());
  r = serve(registry, "GET", "*");
  CHECK(r.status == 400);
  CHECK(body_of(r).at("error") == "lazyload: bad request target '*'");
}

TEST_CASE("GET / serves a self-contained page that refreshes itself",
          "[http]") {
  LazyRegistry registry;
  const HttpResponse r = read_only(registry, "GET", "/");
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/html; charset=utf-8");
  CHECK(r.body == lazyload::status_page_html());
  CHECK(r.body.rfind("<!doctype html>", 0) == 0);
  CHECK(r.body.find("fetch(\"api/status\"") != std::string::npos);
  CHECK(r.body.find("setInterval(refresh, 1000)") != std::string::npos);
  CHECK(r.body.find("\"api/\" + action + \"/\" + encodeURIComponent(name)") !=
        std::string::npos);
  CHECK(r.body.find("method: \"POST\"") != std::string::npos);
  // Nothing external: no URLs, no script or style sources, no imports.
  for (const char* external :
       {"http:", "https:", "//cdn", "src=", "href=", "@import", "url("}) {
    INFO(external);
    CHECK(r.body.find(external) == std::string::npos);
  }
  CHECK(r.body.find("innerHTML") == std::string::npos);  // names as text only
}

TEST_CASE("respond may be called from many threads at once", "[http]") {
  LazyRegistry registry;
  for (int i = 0; i < 4; ++i) {
    registry.add("e" + std::to_string(i), [] { return 1; });
  }
  constexpr int kThreads = 8;
  std::vector<std::vector<int>> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry, &statuses, t] {
      const std::string name = "e" + std::to_string(t % 4);
      for (int i = 0; i < 20; ++i) {
        statuses[t].push_back(serve(registry, "POST",
                                    i % 2 ? "/api/unload/" + name
                                          : "/api/load/" + name + "?wait=1")
                                  .status);
        statuses[t].push_back(serve(registry, "GET", "/api/status").status);
        statuses[t].push_back(serve(registry, "GET", "/metrics").status);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::vector<int>& s : statuses) {
    CHECK(s.size() == 60);
    // 409: a load another thread's unload cancelled while it waited.
    for (const int status : s) CHECK((status == 200 || status == 409));
  }
}

TEST_CASE("POST /api/reload swaps the value while it serves, or keeps it",
          "[http]") {
  LazyRegistry registry;
  std::atomic<int> runs{0};
  registry.add("model", [&]() -> int {
    if (++runs == 3) throw std::runtime_error("bad weights");
    return runs.load();
  });
  registry.load("model");
  std::shared_ptr<int> old = registry.try_lease<int>("model");
  const HttpResponse ok = serve(registry, "POST", "/api/reload/model");
  CHECK(ok.status == 200);
  CHECK(body_of(ok).at("loads") == 2);
  CHECK(registry.get<int>("model") == 2);
  CHECK(*old == 1);  // a lease of the old value stays valid
  const HttpResponse bad = serve(registry, "POST", "/api/reload/model");
  CHECK(bad.status == 500);
  CHECK(body_of(bad).at("error") ==
        "lazyload: loading 'model' failed: bad weights");
  CHECK(body_of(bad).at("entry").at("status") == "loaded");
  CHECK(registry.get<int>("model") == 2);  // the current value still serves
  CHECK(serve(registry, "GET", "/api/reload/model").status == 405);
  CHECK(serve(registry, "POST", "/api/reload/ghost").status == 404);
}

TEST_CASE("POST /api/cancel stops a running load, or answers 409", "[http]") {
  LazyRegistry registry;
  std::atomic<bool> started{false};
  registry.add("slow", [&](lazyload::Progress& p) {
    started = true;
    while (true) p.throw_if_stop_requested();
    return 0;
  });
  const HttpResponse idle = serve(registry, "POST", "/api/cancel/slow");
  CHECK(idle.status == 409);
  CHECK(body_of(idle).at("error") ==
        "lazyload: nothing to cancel: 'slow' is neither loading nor "
        "reloading");
  lazyload::LoadFuture future = registry.load_async("slow");
  while (!started) std::this_thread::yield();
  const HttpResponse cancelled = serve(registry, "POST", "/api/cancel/slow");
  CHECK(cancelled.status == 200);
  CHECK_THROWS_AS(future.get(), lazyload::LoadCancelled);
  CHECK(registry.wait_idle(std::chrono::seconds(10)));
  CHECK(registry.entry("slow").status() == lazyload::Status::unloaded);
}
