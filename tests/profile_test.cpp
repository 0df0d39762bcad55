// Tests for lazyload/profile.hpp: save_profile and preload_profile.

#include "lazyload/profile.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/catch_compat.hpp"
#include "support/registry_fixtures.hpp"

using lazyload::LazyError;
using lazyload::LazyRegistry;
using lazyload::RegistryOptions;
using lazyload::Status;
using lazyload_test::Journal;
using namespace std::chrono_literals;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("lazyload-profile-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("a saved profile warms the next run, the most used first",
          "[registry][profile]") {
  const std::string path = temp_path("roundtrip.json");
  {
    LazyRegistry first_run;
    for (const char* name : {"a", "b", "c", "d \"quoted\""}) {
      first_run.add(name, [] { return 1; });
    }
    first_run.load("c");
    first_run.load("d \"quoted\"");
    (void)first_run.handle<int>("a").lease();  // a: 1 load + 2 leases
    (void)first_run.handle<int>("a").lease();
    first_run.unload("c");  // loaded once this run: still in the profile
    lazyload::save_profile(first_run, path);
  }
  RegistryOptions options;
  options.workers = 1;
  LazyRegistry next_run(options);
  Journal journal;
  for (const char* name : {"a", "b", "c", "d \"quoted\""}) {
    next_run.add(name, [&journal, n = std::string(name)] {
      journal.add(n);
      return 1;
    });
  }
  const lazyload::ProfileReport report =
      lazyload::preload_profile(next_run, path);
  CHECK(report.found);
  CHECK(report.error.empty());
  CHECK(report.unknown.empty());
  CHECK(report.queued == std::vector<std::string>{"a", "c", "d \"quoted\""});
  REQUIRE(next_run.wait_idle(10s));
  CHECK(journal.order() == report.queued);
  CHECK_FALSE(next_run.entry("b").is_loaded());
  std::filesystem::remove(path);
}

TEST_CASE(
    "names in a profile that are not registered are skipped and "
    "reported",
    "[registry][profile]") {
  const std::string path = temp_path("unknown.json");
  write_text(path,
             R"({"format": "lazyload-profile", "version": 1, "entries": [
                  {"name": "gone", "order": 1, "loads": 1, "uses": 9},
                  {"name": "kept", "order": 2, "loads": 1, "uses": 1}]})");
  LazyRegistry r;
  r.add("kept", [] { return 1; });
  const auto report = lazyload::preload_profile(r, path);
  CHECK(report.unknown == std::vector<std::string>{"gone"});
  CHECK(report.queued == std::vector<std::string>{"kept"});
  CHECK(r.wait_idle(10s));
  CHECK(r.entry("kept").is_loaded());
  std::filesystem::remove(path);
}

TEST_CASE("a missing profile is a no-op", "[registry][profile]") {
  LazyRegistry r;
  r.add("x", [] { return 1; });
  const auto report =
      lazyload::preload_profile(r, temp_path("does-not-exist.json"));
  CHECK_FALSE(report.found);
  CHECK(report.error.empty());
  CHECK(report.queued.empty());
  CHECK(r.entry("x").status() == Status::unloaded);
}

TEST_CASE("a corrupt profile queues nothing and says why",
          "[registry][profile]") {
  LazyRegistry r;
  r.add("x", [] { return 1; });
  const std::string broken = temp_path("broken.json");
  write_text(broken,
             R"({"format": "lazyload-profile", "entries": [{"name" 1}]})");
  auto report = lazyload::preload_profile(r, broken);
  CHECK(report.found);
  CHECK(report.error == "lazyload: profile '" + broken +
                            "' is corrupt: expected ':' at byte 51");
  CHECK(report.queued.empty());
  const std::string other = temp_path("other.json");
  write_text(other, R"({"hello": "world"})");
  report = lazyload::preload_profile(r, other);
  CHECK(report.error ==
        "lazyload: profile '" + other + "' is corrupt: not a lazyload profile");
  write_text(other, std::string(100, '['));
  CHECK_FALSE(lazyload::preload_profile(r, other).error.empty());
  write_text(other, "");
  CHECK_FALSE(lazyload::preload_profile(r, other).error.empty());
  CHECK(r.entry("x").status() == Status::unloaded);
  std::filesystem::remove(broken);
  std::filesystem::remove(other);
}

TEST_CASE("saving a profile where it cannot be written names the path",
          "[registry][profile]") {
  LazyRegistry r;
  CHECK_THROWS_WITH_AS(
      lazyload::save_profile(r, "/nonexistent-dir/profile.json"),
      "lazyload: cannot write profile '/nonexistent-dir/profile.json'",
      LazyError);
}
