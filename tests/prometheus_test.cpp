// Tests for lazyload/prometheus.hpp: to_prometheus.

#include "lazyload/prometheus.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/catch_compat.hpp"
#include "support/scenario.hpp"
#include "support/snapshot_fixture.hpp"

using lazyload::EntrySnapshot;
using lazyload::RegistrySnapshot;
using lazyload::Status;
using lazyload_test::Scenario;

namespace {

// The text exposition format 0.0.4, line by line.
const char* const kName = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const char* const kLabelValue = R"((?:[^"\\\n]|\\[\\"n])*)";
const char* const kNumber =
    R"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]Inf|NaN)";

const std::regex kHelp(std::string("# HELP (") + kName +
                       R"() ((?:[^\\\n]|\\[\\n])*))");
const std::regex kType(std::string("# TYPE (") + kName +
                       ") (counter|gauge|histogram|summary|untyped)");
const std::regex kSample(std::string("(") + kName + ")(?:\\{((?:" +
                         "[a-zA-Z_][a-zA-Z0-9_]*=\"" + kLabelValue +
                         "\")(?:,[a-zA-Z_][a-zA-Z0-9_]*=\"" + kLabelValue +
                         "\")*)?\\})? (" + kNumber + ")(?: -?[0-9]+)?");
const std::regex kLabel(std::string("([a-zA-Z_][a-zA-Z0-9_]*)=\"(") +
                        kLabelValue + ")\"");

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped
  std::string value;
};

std::string unescape(const std::string& value) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      const char next = value[++i];
      out += next == 'n' ? '\n' : next;
    } else {
      out += value[i];
    }
  }
  return out;
}

// Checks every line against the format and the conventions, and returns the
// samples. Fails the test case on the first line that does not conform.
std::vector<Sample> parse_exposition(const std::string& text) {
  REQUIRE(!text.empty());
  REQUIRE(text.back() == '\n');
  std::vector<Sample> samples;
  std::map<std::string, std::string> types;  // family -> type
  std::set<std::string> helped;
  std::set<std::string> finished;  // families whose samples are over
  std::string current;             // the family the samples belong to
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    INFO("line: " << line);
    std::smatch m;
    if (std::regex_match(line, m, kHelp)) {
      const std::string family = m[1];
      CHECK(helped.insert(family).second);  // one HELP per family
      CHECK(types.count(family) == 0);      // HELP comes before TYPE
      if (!current.empty()) finished.insert(current);
      current = family;
    } else if (std::regex_match(line, m, kType)) {
      const std::string family = m[1];
      CHECK(family == current);  // right after its HELP
      CHECK(types.emplace(family, m[2]).second);
    } else if (std::regex_match(line, m, kSample)) {
      Sample s;
      s.name = m[1];
      s.value = m[3];
      const std::string labels = m[2];
      for (auto it = std::sregex_iterator(labels.begin(), labels.end(), kLabel);
           it != std::sregex_iterator(); ++it) {
        CHECK(s.labels.emplace((*it)[1], unescape((*it)[2])).second);
      }
      CHECK(s.name == current);  // under its family's HELP and TYPE
      CHECK(types.count(s.name) == 1);
      CHECK(finished.count(s.name) == 0);
      samples.push_back(s);
    } else {
      FAIL("not a HELP, TYPE or sample line");
    }
  }
  for (const auto& [family, type] : types) {
    INFO("family: " << family);
    CHECK(family.rfind("lazyload_", 0) == 0);
    const bool total = family.size() > 6 &&
                       family.compare(family.size() - 6, 6, "_total") == 0;
    CHECK(total == (type == "counter"));
  }
  CHECK(helped.size() == types.size());
  return samples;
}

std::vector<Sample> named(const std::vector<Sample>& samples,
                          const std::string& name) {
  std::vector<Sample> out;
  for (const Sample& s : samples) {
    if (s.name == name) out.push_back(s);
  }
  return out;
}

}  // namespace

TEST_CASE("to_prometheus writes the exact documented exposition",
          "[prometheus]") {
  CHECK(lazyload::to_prometheus(lazyload_test::fixed_snapshot_of_torch()) ==
        "# HELP lazyload_entries Registered entries by status.\n"
        "# TYPE lazyload_entries gauge\n"
        "lazyload_entries{status=\"unloaded\"} 0\n"
        "lazyload_entries{status=\"queued\"} 0\n"
        "lazyload_entries{status=\"loading\"} 0\n"
        "lazyload_entries{status=\"loaded\"} 1\n"
        "lazyload_entries{status=\"failed\"} 0\n"
        "# HELP lazyload_is_loading 1 while an entry is queued or loading,"
        " else 0.\n"
        "# TYPE lazyload_is_loading gauge\n"
        "lazyload_is_loading 0\n"
        "# HELP lazyload_progress_ratio Loaded entries over registered"
        " entries; 0 when there are none.\n"
        "# TYPE lazyload_progress_ratio gauge\n"
        "lazyload_progress_ratio 1\n"
        "# HELP lazyload_loaded_bytes Sum of the known sizes of the loaded"
        " entries.\n"
        "# TYPE lazyload_loaded_bytes gauge\n"
        "lazyload_loaded_bytes 67108864\n"
        "# HELP lazyload_memory_budget_bytes The registry's memory budget;"
        " no sample when there is none.\n"
        "# TYPE lazyload_memory_budget_bytes gauge\n"
        "lazyload_memory_budget_bytes 1610612736\n"
        "# HELP lazyload_budget_overshoots_total Loads that left the"
        " loaded total over the budget with nothing to evict.\n"
        "# TYPE lazyload_budget_overshoots_total counter\n"
        "lazyload_budget_overshoots_total 4\n"
        "# HELP lazyload_pressure Whether the memory pressure is at the"
        " level (1) or not (0).\n"
        "# TYPE lazyload_pressure gauge\n"
        "lazyload_pressure{level=\"normal\"} 0\n"
        "lazyload_pressure{level=\"warning\"} 1\n"
        "lazyload_pressure{level=\"critical\"} 0\n"
        "# HELP lazyload_rss_bytes Resident set size of the process when"
        " the snapshot was taken.\n"
        "# TYPE lazyload_rss_bytes gauge\n"
        "lazyload_rss_bytes 209715200\n"
        "# HELP lazyload_ready 1 when every entry marked required is"
        " loaded, else 0.\n"
        "# TYPE lazyload_ready gauge\n"
        "lazyload_ready 1\n"
        "# HELP lazyload_entry_info Always 1; the labels describe the"
        " entry.\n"
        "# TYPE lazyload_entry_info gauge\n"
        "lazyload_entry_info{name=\"torch\",type=\"Model\",evictable=\"true"
        "\",required=\"true\"} 1\n"
        "# HELP lazyload_entry_state Whether the entry is in the status"
        " (1) or not (0).\n"
        "# TYPE lazyload_entry_state gauge\n"
        "lazyload_entry_state{name=\"torch\",status=\"unloaded\"} 0\n"
        "lazyload_entry_state{name=\"torch\",status=\"queued\"} 0\n"
        "lazyload_entry_state{name=\"torch\",status=\"loading\"} 0\n"
        "lazyload_entry_state{name=\"torch\",status=\"loaded\"} 1\n"
        "lazyload_entry_state{name=\"torch\",status=\"failed\"} 0\n"
        "# HELP lazyload_entry_priority Background loading order of the"
        " entry: smaller first.\n"
        "# TYPE lazyload_entry_priority gauge\n"
        "lazyload_entry_priority{name=\"torch\"} 1\n"
        "# HELP lazyload_entry_last_load_duration_seconds Loader plus"
        " warm-up time of the entry's last load, successful or not.\n"
        "# TYPE lazyload_entry_last_load_duration_seconds gauge\n"
        "lazyload_entry_last_load_duration_seconds{name=\"torch\"}"
        " 5.8041234567\n"
        "# HELP lazyload_entry_loads_total Successful loads of the entry.\n"
        "# TYPE lazyload_entry_loads_total counter\n"
        "lazyload_entry_loads_total{name=\"torch\"} 2\n"
        "# HELP lazyload_entry_failures_total Failed loads of the entry.\n"
        "# TYPE lazyload_entry_failures_total counter\n"
        "lazyload_entry_failures_total{name=\"torch\"} 1\n"
        "# HELP lazyload_entry_evictions_total Unloads of the entry by the"
        " registry to keep under its memory budget.\n"
        "# TYPE lazyload_entry_evictions_total counter\n"
        "lazyload_entry_evictions_total{name=\"torch\"} 3\n"
        "# HELP lazyload_entry_uses_total Successful loads plus leases of"
        " the entry.\n"
        "# TYPE lazyload_entry_uses_total counter\n"
        "lazyload_entry_uses_total{name=\"torch\"} 5\n"
        "# HELP lazyload_entry_progress_ratio The fraction the entry's"
        " current or last load reported.\n"
        "# TYPE lazyload_entry_progress_ratio gauge\n"
        "lazyload_entry_progress_ratio{name=\"torch\"} 1\n"
        "# HELP lazyload_entry_size_bytes The entry's size when known,"
        " reported or declared.\n"
        "# TYPE lazyload_entry_size_bytes gauge\n"
        "lazyload_entry_size_bytes{name=\"torch\"} 67108864\n"
        "# HELP lazyload_entry_last_loaded_timestamp_seconds Unix time at"
        " which the entry's last successful load finished.\n"
        "# TYPE lazyload_entry_last_loaded_timestamp_seconds gauge\n"
        "lazyload_entry_last_loaded_timestamp_seconds{name=\"torch\"}"
        " 1764045302.123\n"
        "# HELP lazyload_entry_first_load Rank of the entry's first load"
        " in the registry's life (1: first).\n"
        "# TYPE lazyload_entry_first_load gauge\n"
        "lazyload_entry_first_load{name=\"torch\"} 2\n"
        "# HELP lazyload_entry_reloading 1 while a reload runs beside the"
        " entry's serving value, else 0.\n"
        "# TYPE lazyload_entry_reloading gauge\n"
        "lazyload_entry_reloading{name=\"torch\"} 1\n"
        "# HELP lazyload_entry_reload_progress_ratio The fraction the"
        " entry's running reload reported.\n"
        "# TYPE lazyload_entry_reload_progress_ratio gauge\n"
        "lazyload_entry_reload_progress_ratio{name=\"torch\"} 0.5\n"
        "# HELP lazyload_entry_retries Retries of the entry scheduled since"
        " its last successful load.\n"
        "# TYPE lazyload_entry_retries gauge\n"
        "lazyload_entry_retries{name=\"torch\"} 1\n"
        "# HELP lazyload_entry_next_retry_timestamp_seconds Unix time at"
        " which the entry's next retry is due.\n"
        "# TYPE lazyload_entry_next_retry_timestamp_seconds gauge\n"
        "lazyload_entry_next_retry_timestamp_seconds{name=\"torch\"}"
        " 1764045303.412\n");
}

TEST_CASE("every field of the list is a family, a label or said not to be",
          "[prometheus]") {
  const std::vector<lazyload::detail::Field> fields =
      lazyload_test::all_fields();
  const std::string text =
      lazyload::to_prometheus(lazyload_test::fixed_snapshot());
  const auto samples = parse_exposition(text);
  using lazyload::detail::Metric;
  using lazyload::detail::Unit;
  const auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() &&
           s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (const lazyload::detail::Field& f : fields) {
    const std::string name(f.name);
    const std::string family(f.family);
    INFO("field: " << name);
    if (f.metric == Metric::none) {
      CHECK(!f.help.empty());  // says why
    } else if (f.metric == Metric::info_label) {
      CHECK(named(samples, "lazyload_entry_info").at(0).labels.count(name) ==
            1);
    } else {
      CHECK(!named(samples, family).empty());
      CHECK(ends_with(family, "_total") == (f.metric == Metric::counter));
      if (f.unit == Unit::seconds || f.unit == Unit::timestamp) {
        CHECK(ends_with(family, "_seconds"));
      }
      if (f.unit == Unit::bytes) CHECK(ends_with(family, "_bytes"));
      if (f.unit == Unit::ratio) CHECK(ends_with(family, "_ratio"));
    }
  }
  // The exceptions, each named: free text, lists, and the total.
  std::set<std::string> none;
  for (const lazyload::detail::Field& f : fields) {
    if (f.metric == Metric::none) none.emplace(f.name);
  }
  CHECK(none == std::set<std::string>{"total", "not_ready", "error", "stage",
                                      "depends_on"});
}

TEST_CASE("every line of a real registry's exposition conforms to the format",
          "[prometheus]") {
  Scenario scenario;
  const std::string text = lazyload::to_prometheus(scenario.registry());
  const std::vector<Sample> samples = parse_exposition(text);
  CHECK(samples.size() > 7 * 5);
}

TEST_CASE("the state gauge has one line per status, 1 for the current one",
          "[prometheus]") {
  Scenario scenario;
  const auto samples =
      parse_exposition(lazyload::to_prometheus(scenario.registry()));
  const std::map<std::string, std::string> expected = {
      {Scenario::kTorch, "loaded"},  {Scenario::kQuoted, "loaded"},
      {Scenario::kFailed, "failed"}, {Scenario::kLoading, "loading"},
      {Scenario::kQueued, "queued"}, {Scenario::kUnicode, "unloaded"},
      {Scenario::kNever, "unloaded"}};
  const auto state = named(samples, "lazyload_entry_state");
  REQUIRE(state.size() == expected.size() * 5);
  std::map<std::string, int> lines;
  for (const Sample& s : state) {
    const std::string& name = s.labels.at("name");
    const std::string& status = s.labels.at("status");
    ++lines[name];
    REQUIRE(expected.count(name) == 1);
    CHECK(s.value == (expected.at(name) == status ? "1" : "0"));
  }
  for (const auto& [name, count] : lines) CHECK(count == 5);

  const auto entries = named(samples, "lazyload_entries");
  REQUIRE(entries.size() == 5);
  CHECK(entries[0].labels.at("status") == "unloaded");
  CHECK(entries[0].value == "2");
  CHECK(entries[1].value == "1");  // queued
  CHECK(entries[2].value == "1");  // loading
  CHECK(entries[3].value == "2");  // loaded
  CHECK(entries[4].value == "1");  // failed
  CHECK(named(samples, "lazyload_ready").at(0).value == "0");
  CHECK(named(samples, "lazyload_memory_budget_bytes").at(0).value ==
        std::to_string(Scenario::kBudget));
}

TEST_CASE("label escaping round-trips awkward names", "[prometheus]") {
  Scenario scenario;
  const std::string text = lazyload::to_prometheus(scenario.registry());
  // The escapes as they appear in the text.
  CHECK(text.find(R"({name="dqn \"quoted\" \\ back"})") != std::string::npos);
  CHECK(text.find("{name=\"new\\nline\ttab\x01\"}") != std::string::npos);
  std::set<std::string> names;
  for (const Sample& s : parse_exposition(text)) {
    if (s.name == "lazyload_entry_loads_total") {
      names.insert(s.labels.at("name"));
    }
  }
  CHECK(names == std::set<std::string>{Scenario::kTorch, Scenario::kQuoted,
                                       Scenario::kFailed, Scenario::kLoading,
                                       Scenario::kQueued, Scenario::kUnicode,
                                       Scenario::kNever});
  // Names that are not UTF-8 are refused: replacing their bytes would make
  // two entries one series.
  lazyload::LazyRegistry registry;
  CHECK_THROWS_AS(registry.add("\xFE", [] { return 1; }), lazyload::LazyError);
  CHECK_THROWS_AS(registry.add("\xFF", [] { return 1; }), lazyload::LazyError);
  CHECK(registry.size() == 0);
}

TEST_CASE("values that are not known have no sample", "[prometheus]") {
  RegistrySnapshot s;
  EntrySnapshot e;
  e.name = "never";
  s.entries.push_back(e);
  s.total = 1;
  s.unloaded = 1;
  const auto samples = parse_exposition(lazyload::to_prometheus(s));
  CHECK(named(samples, "lazyload_memory_budget_bytes").empty());
  CHECK(named(samples, "lazyload_entry_size_bytes").empty());
  CHECK(named(samples, "lazyload_entry_last_load_duration_seconds").empty());
  CHECK(named(samples, "lazyload_entry_last_loaded_timestamp_seconds").empty());
  CHECK(named(samples, "lazyload_entry_first_load").empty());
  CHECK(named(samples, "lazyload_rss_bytes").empty());
  CHECK(named(samples, "lazyload_entry_loads_total").at(0).value == "0");
}

TEST_CASE("an empty registry still declares every family", "[prometheus]") {
  const std::string text = lazyload::to_prometheus(RegistrySnapshot{});
  const auto samples = parse_exposition(text);
  CHECK(text.find("# TYPE lazyload_entry_state gauge\n") != std::string::npos);
  CHECK(named(samples, "lazyload_entry_state").empty());
  CHECK(named(samples, "lazyload_ready").at(0).value == "1");
}

TEST_CASE("the line checks reject malformed expositions", "[prometheus]") {
  // The checker must be able to fail: run its regexes on broken lines.
  CHECK_FALSE(
      std::regex_match(std::string("lazyload_x{name=\"a\"b\"} 1"), kSample));
  CHECK_FALSE(
      std::regex_match(std::string("lazyload_x{name=\"a\\tb\"} 1"), kSample));
  CHECK_FALSE(
      std::regex_match(std::string("lazyload_x{name=\"a\"} one"), kSample));
  CHECK_FALSE(std::regex_match(std::string("lazyload x 1"), kSample));
  CHECK_FALSE(std::regex_match(std::string("# TYPE lazyload_x gauges"), kType));
  CHECK(std::regex_match(std::string("lazyload_x{a=\"\\\\\\\"\\n\"} +Inf"),
                         kSample));
}

TEST_CASE("per_entry = false writes the registry-wide families only",
          "[prometheus]") {
  const RegistrySnapshot snapshot = lazyload_test::fixed_snapshot();
  REQUIRE(!snapshot.entries.empty());
  lazyload::PrometheusOptions options;
  options.per_entry = false;
  const std::string text = lazyload::to_prometheus(snapshot, options);
  const auto samples = parse_exposition(text);
  // No per-entry family, not even declared, and no entry's name.
  CHECK(text.find("lazyload_entry_") == std::string::npos);
  for (const EntrySnapshot& e : snapshot.entries) {
    CHECK(text.find("name=\"" + e.name + "\"") == std::string::npos);
  }
  // The totals are there, as in the full exposition.
  const auto full = parse_exposition(lazyload::to_prometheus(snapshot));
  for (const char* family :
       {"lazyload_entries", "lazyload_is_loading", "lazyload_progress_ratio",
        "lazyload_loaded_bytes", "lazyload_budget_overshoots_total",
        "lazyload_pressure", "lazyload_ready"}) {
    INFO("family: " << family);
    const auto ours = named(samples, family);
    const auto theirs = named(full, family);
    REQUIRE(!ours.empty());
    REQUIRE(ours.size() == theirs.size());
    for (std::size_t i = 0; i < ours.size(); ++i) {
      CHECK(ours[i].labels == theirs[i].labels);
      CHECK(ours[i].value == theirs[i].value);
    }
  }
  CHECK(named(samples, "lazyload_entries").size() == 5);
  CHECK(text.rfind("# HELP lazyload_entries ", 0) == 0);
}

TEST_CASE("the default options write the same text as no options",
          "[prometheus]") {
  const RegistrySnapshot snapshot = lazyload_test::fixed_snapshot();
  CHECK(lazyload::to_prometheus(snapshot, lazyload::PrometheusOptions{}) ==
        lazyload::to_prometheus(snapshot));
}
