// The names this release renamed still compile, with a deprecation warning
// (silenced for this file only), and mean what they meant: code written
// against 0.1 keeps working for one minor release.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <lazyload/library.hpp>  // now shared_library.hpp
#include <lazyload/memory.hpp>   // now memory_pressure.hpp
#include <lazyload/profile.hpp>
#include <lazyload/registry.hpp>
#include <stdexcept>
#include <string>

#include "support/catch_compat.hpp"

using namespace std::chrono_literals;

TEST_CASE("old header paths forward to the renamed headers", "[deprecated]") {
  lazyload::PressureThresholds thresholds;
  CHECK(thresholds.warning == 0.85);
  lazyload::SharedLibrary* library = nullptr;
  CHECK(library == nullptr);
}

TEST_CASE("PressureLevels is PressureThresholds", "[deprecated]") {
  const lazyload::PressureLevels levels{0.5, 0.75};
  const lazyload::PressureThresholds& same = levels;
  CHECK(same.warning == 0.5);
  CHECK(same.critical == 0.75);
}

TEST_CASE("HandleStats fills its old field names", "[deprecated]") {
  lazyload::LazyHandle<int> ok{"ok", [](lazyload::Progress& p) {
                                 p.set_size(64);
                                 return 1;
                               }};
  ok.load();
  const lazyload::HandleStats stats = ok.stats();
  CHECK(stats.reported_size == 64);
  CHECK(stats.last_load_time ==
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(stats.load_time)));
  lazyload::LazyHandle<int> bad{
      "bad", []() -> int { throw std::runtime_error("boom"); }};
  CHECK_THROWS(bad.load());
  CHECK(bad.stats().last_error == "lazyload: loading 'bad' failed: boom");
}

TEST_CASE("progress_percentage is progress times 100", "[deprecated]") {
  lazyload::LazyRegistry registry;
  registry.add("a", [] { return 1; });
  registry.add("b", [] { return 2; });
  registry.load("a");
  const lazyload::RegistrySnapshot s = registry.snapshot();
  CHECK(s.progress == Approx(0.5));
  CHECK(s.progress_percentage == Approx(50.0));
}

TEST_CASE("the profile members forward to the free functions", "[deprecated]") {
  const std::string path =
      (std::filesystem::temp_directory_path() /
       ("lazyload-deprecated-" + std::to_string(::getpid()) + ".json"))
          .string();
  {
    lazyload::LazyRegistry first;
    first.add("a", [] { return 1; });
    first.load("a");
    first.save_profile(path);
  }
  lazyload::LazyRegistry next;
  next.add("a", [] { return 1; });
  const lazyload::ProfileReport report = next.preload_profile(path);
  CHECK(report.found);
  REQUIRE(report.queued.size() == 1);
  CHECK(report.queued[0] == "a");
  CHECK(next.wait_idle(10s));
  CHECK(next.entry("a").is_loaded());
  std::filesystem::remove(path);
}
