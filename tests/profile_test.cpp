// Tests for lazyload/profile.hpp: save_profile and preload_profile.

#include "lazyload/profile.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <clocale>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/barrier.hpp"
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

// The names a profile lists, through preload_profile() into a registry that
// has none of them: all come back as unknown.
std::set<std::string> names_in(const lazyload::ProfileReport& report) {
  return {report.unknown.begin(), report.unknown.end()};
}

// A registry whose entries `prefix`0 .. `prefix`(count - 1) have all loaded.
void load_entries(LazyRegistry& r, const std::string& prefix, int count) {
  for (int k = 0; k < count; ++k) {
    const std::string name = prefix + std::to_string(k);
    r.add(name, [] { return 1; });
    r.load(name);
  }
}

// Sets LC_ALL to a locale whose decimal point is a comma, if one is
// installed, and restores the locale it found when destroyed.
class DecimalCommaLocale {
 public:
  DecimalCommaLocale() : saved_(std::setlocale(LC_ALL, nullptr)) {
    for (const char* name : {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                             "fr_FR.utf8", "de_DE", "fr_FR"}) {
      if (std::setlocale(LC_ALL, name) != nullptr &&
          std::string(std::localeconv()->decimal_point) == ",") {
        name_ = name;
        return;
      }
    }
    std::setlocale(LC_ALL, saved_.c_str());
  }
  ~DecimalCommaLocale() { std::setlocale(LC_ALL, saved_.c_str()); }
  DecimalCommaLocale(const DecimalCommaLocale&) = delete;
  DecimalCommaLocale& operator=(const DecimalCommaLocale&) = delete;

  // The locale set, or empty if none with a decimal comma is installed.
  const std::string& name() const { return name_; }

 private:
  std::string saved_;
  std::string name_;
};

// Runs preload_profile(r, path) on another thread; if it has not returned
// within 10 s (blocked in open() on a FIFO), opens the FIFO for writing,
// which lets it return, and fails.
lazyload::ProfileReport preload_or_unblock(LazyRegistry& r,
                                           const std::string& path) {
  auto done = std::async(std::launch::async,
                         [&] { return lazyload::preload_profile(r, path); });
  if (done.wait_for(10s) != std::future_status::ready) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    FAIL_CHECK("preload_profile blocked on " << path);
  }
  return done.get();
}

// Switches the effective user to `nobody` while alive, when running as
// root, so that file permissions apply; active() says whether they do.
class NotRoot {
 public:
  NotRoot() {
    if (::geteuid() != 0) {
      active_ = true;
    } else if (::seteuid(65534) == 0) {
      active_ = switched_ = true;
    }
  }
  ~NotRoot() {
    if (switched_) (void)!::seteuid(0);
  }
  NotRoot(const NotRoot&) = delete;
  NotRoot& operator=(const NotRoot&) = delete;
  bool active() const { return active_; }

 private:
  bool active_ = false;
  bool switched_ = false;
};

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

TEST_CASE(
    "saving a profile where it cannot be written names the path and the "
    "OS error",
    "[registry][profile]") {
  LazyRegistry r;
  CHECK_THROWS_WITH_AS(
      lazyload::save_profile(r, "/nonexistent-dir/profile.json"),
      "lazyload: cannot write profile '/nonexistent-dir/profile.json': No "
      "such file or directory",
      LazyError);
}

TEST_CASE("a failed save leaves no temporary file behind",
          "[registry][profile]") {
  // The path is a directory: the temporary file is written beside it, and
  // the rename over the directory fails.
  const std::filesystem::path dir = temp_path("save-over-dir");
  std::filesystem::create_directories(dir / "target");
  LazyRegistry r;
  load_entries(r, "e", 1);
  const std::string target = (dir / "target").string();
  CHECK_THROWS_WITH_AS(
      lazyload::save_profile(r, target),
      "lazyload: cannot write profile '" + target + "': Is a directory",
      LazyError);
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    left.push_back(e.path().filename().string());
  }
  CHECK(left == std::vector<std::string>{"target"});
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "threads saving to one path never fail, and readers see whole "
    "profiles",
    "[registry][profile]") {
  const std::string path = temp_path("concurrent.json");
  std::filesystem::remove(path);
  constexpr int kWriters = 4;
  constexpr int kSaves = 100;
  std::vector<std::unique_ptr<LazyRegistry>> writers;
  std::vector<std::set<std::string>> expected;
  for (int i = 0; i < kWriters; ++i) {
    writers.push_back(std::make_unique<LazyRegistry>());
    const std::string prefix = "w" + std::to_string(i) + "-";
    load_entries(*writers.back(), prefix, i + 2);
    std::set<std::string> names;
    for (int k = 0; k < i + 2; ++k) names.insert(prefix + std::to_string(k));
    expected.push_back(names);
  }
  std::atomic<int> writing{kWriters};
  std::atomic<int> failed_saves{0};
  std::atomic<int> bad_reads{0};
  std::atomic<int> good_reads{0};
  std::string first_failure;
  std::mutex failure_mutex;
  const auto note = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(failure_mutex);
    if (first_failure.empty()) first_failure = what;
  };
  lazyload_test::race(kWriters + 1, [&](std::size_t i) {
    if (i < kWriters) {
      for (int n = 0; n < kSaves; ++n) {
        try {
          lazyload::save_profile(*writers[i], path);
        } catch (const LazyError& e) {
          ++failed_saves;
          note(e.what());
        }
      }
      --writing;
      return;
    }
    LazyRegistry reader;
    while (writing.load() > 0) {
      const auto report = lazyload::preload_profile(reader, path);
      if (!report.found) continue;  // before the first save
      bool whole = report.error.empty();
      if (whole) {
        whole = false;
        for (const auto& names : expected) whole |= names_in(report) == names;
      }
      if (whole) {
        ++good_reads;
      } else {
        ++bad_reads;
        note(report.error);
      }
    }
  });
  CAPTURE(first_failure);
  CHECK(failed_saves == 0);
  CHECK(bad_reads == 0);
  std::filesystem::remove(path);
}

TEST_CASE(
    "processes saving to one path never fail, and readers see whole "
    "profiles",
    "[registry][profile]") {
  // fork() before this process starts any thread for the test: the child
  // saves in a loop while the parent saves and reads.
  const std::string path = temp_path("processes.json");
  std::filesystem::remove(path);
  constexpr int kSaves = 200;
  int go[2];
  REQUIRE(::pipe(go) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    char byte = 0;
    if (::read(go[0], &byte, 1) != 1) ::_exit(3);
    int failures = 0;
    try {
      LazyRegistry r;
      load_entries(r, "child-", 3);
      for (int n = 0; n < kSaves; ++n) {
        try {
          lazyload::save_profile(r, path);
        } catch (const LazyError&) {
          ++failures;
        }
      }
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(failures == 0 ? 0 : 1);
  }
  LazyRegistry mine;
  load_entries(mine, "parent-", 2);
  LazyRegistry reader;
  int failed_saves = 0;
  int bad_reads = 0;
  std::string first_failure;
  const char byte = 1;
  REQUIRE(::write(go[1], &byte, 1) == 1);
  for (int n = 0; n < kSaves; ++n) {
    try {
      lazyload::save_profile(mine, path);
    } catch (const LazyError& e) {
      ++failed_saves;
      if (first_failure.empty()) first_failure = e.what();
    }
    const auto report = lazyload::preload_profile(reader, path);
    const auto names = names_in(report);
    if (!report.error.empty() ||
        (names != std::set<std::string>{"parent-0", "parent-1"} &&
         names != std::set<std::string>{"child-0", "child-1", "child-2"})) {
      ++bad_reads;
      if (first_failure.empty()) first_failure = report.error;
    }
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  ::close(go[0]);
  ::close(go[1]);
  CAPTURE(first_failure);
  CHECK(failed_saves == 0);
  CHECK(bad_reads == 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  std::filesystem::remove(path);
}

TEST_CASE("a profile reads back under a locale with a decimal comma",
          "[registry][profile]") {
  const std::string path = temp_path("locale.json");
  const DecimalCommaLocale locale;
  if (locale.name().empty()) {
    WARN(
        "no locale with a decimal comma is installed (de_DE.UTF-8 or "
        "fr_FR.UTF-8): the profile was read in the \"C\" locale only");
  }
  {
    LazyRegistry first_run;
    load_entries(first_run, "e", 3);
    lazyload::save_profile(first_run, path);
  }
  LazyRegistry next_run;
  const auto report = lazyload::preload_profile(next_run, path);
  CHECK(report.error.empty());
  CHECK(names_in(report) == std::set<std::string>{"e0", "e1", "e2"});
  // Fractions and exponents, as another writer may spell them.
  write_text(path, R"({"format": "lazyload-profile", "version": 1,
      "entries": [
        {"name": "a", "order": 1, "uses": 1.25, "load_time": 2.5e-3},
        {"name": "b", "order": 2, "uses": 1.5E0, "load_time": 0.125},
        {"name": "c", "order": 3, "uses": -0.5, "load_time": 1e2}]})");
  LazyRegistry r;
  for (const char* name : {"a", "b", "c"}) r.add(name, [] { return 1; });
  const auto fractions = lazyload::preload_profile(r, path);
  CHECK(fractions.error.empty());
  CHECK(fractions.queued == std::vector<std::string>{"b", "a", "c"});
  CHECK(r.wait_idle(10s));
  std::filesystem::remove(path);
}

TEST_CASE("numbers in a profile follow JSON's grammar strictly",
          "[registry][profile]") {
  const std::string path = temp_path("numbers.json");
  LazyRegistry r;
  for (const char* bad : {"01", "1.", ".5", "+1", "1e", "1e+", "--1", "0x10",
                          "1.5.5", "NaN", "Infinity", "1e999"}) {
    write_text(path, std::string(R"({"format": "lazyload-profile",)") +
                         R"( "entries": [{"name": "a", "uses": )" + bad +
                         "}]}");
    CAPTURE(bad);
    CHECK_FALSE(lazyload::preload_profile(r, path).error.empty());
  }
  std::filesystem::remove(path);
}

TEST_CASE("a FIFO as profile is refused at once, never waited on",
          "[registry][profile]") {
  const std::string path = temp_path("fifo.json");
  std::filesystem::remove(path);
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  LazyRegistry r;
  const lazyload::ProfileReport report = preload_or_unblock(r, path);
  CHECK(report.found);
  CHECK(report.error ==
        "lazyload: cannot read profile '" + path + "': is not a regular file");
  CHECK(report.queued.empty());
  std::filesystem::remove(path);
}

TEST_CASE("a directory as profile is reported as a directory",
          "[registry][profile]") {
  const std::string path = temp_path("dir.json");
  std::filesystem::create_directories(path);
  LazyRegistry r;
  const lazyload::ProfileReport report = lazyload::preload_profile(r, path);
  CHECK(report.found);
  CHECK(report.error ==
        "lazyload: cannot read profile '" + path + "': is a directory");
  std::filesystem::remove(path);
}

TEST_CASE("a device as profile is refused without reading it",
          "[registry][profile]") {
  LazyRegistry r;
  const lazyload::ProfileReport report =
      lazyload::preload_profile(r, "/dev/zero");
  CHECK(report.found);
  CHECK(report.error ==
        "lazyload: cannot read profile '/dev/zero': is not a regular file");
}

TEST_CASE("an unreadable profile is reported as such, not as missing",
          "[registry][profile]") {
  const std::string path = temp_path("unreadable.json");
  write_text(path, R"({"format": "lazyload-profile", "entries": []})");
  std::filesystem::permissions(path, std::filesystem::perms::none);
  LazyRegistry r;
  lazyload::ProfileReport report;
  {
    const NotRoot not_root;
    if (!not_root.active()) {
      WARN("running as root and cannot switch user: permissions not tested");
      std::filesystem::remove(path);
      return;
    }
    report = lazyload::preload_profile(r, path);
  }
  CHECK(report.found);
  CHECK(report.error ==
        "lazyload: cannot read profile '" + path + "': Permission denied");
  std::filesystem::remove(path);
}

TEST_CASE("a profile above the size limit is refused, naming the limit",
          "[registry][profile]") {
  // A valid profile padded to 16 MiB with spaces.
  const std::string path = temp_path("large.json");
  std::string text = R"({"format": "lazyload-profile", "entries": []})";
  const std::size_t size = std::size_t{16} << 20;
  text.resize(size, ' ');
  write_text(path, text);
  LazyRegistry r;
  const lazyload::ProfileReport report = lazyload::preload_profile(r, path);
  CHECK(report.found);
  CHECK(report.error == "lazyload: cannot read profile '" + path +
                            "': is too large (16777216 bytes; the limit is " +
                            std::to_string(lazyload::kMaxProfileBytes) + ")");
  // At the limit exactly, it is read.
  text.resize(lazyload::kMaxProfileBytes);
  write_text(path, text);
  CHECK(lazyload::preload_profile(r, path).error.empty());
  std::filesystem::remove(path);
}

TEST_CASE("a profile above the size limit is not saved",
          "[registry][profile]") {
  const std::string path = temp_path("too-large-to-save.json");
  std::filesystem::remove(path);
  LazyRegistry r;
  load_entries(r, std::string(lazyload::kMaxProfileBytes / 4, 'n'), 5);
  std::string message;
  try {
    lazyload::save_profile(r, path);
  } catch (const LazyError& e) {
    message = e.what();
  }
  CHECK_THAT(message,
             Catch::Matchers::StartsWith("lazyload: cannot write profile '" +
                                         path + "': is too large (") &&
                 Catch::Matchers::EndsWith(
                     " bytes; the limit is " +
                     std::to_string(lazyload::kMaxProfileBytes) + ")"));
  CHECK_FALSE(std::filesystem::exists(path));
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#  if defined(__has_feature)
#    if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#      define LAZYLOAD_TEST_SANITIZED 1
#    endif
#  endif
#else
#  define LAZYLOAD_TEST_SANITIZED 1
#endif

#ifndef LAZYLOAD_TEST_SANITIZED
TEST_CASE("a profile at the size limit is read in bounded memory",
          "[registry][profile]") {
  // The worst cases for the reader, each kMaxProfileBytes long: an array of
  // two-byte items, and the shortest entries a profile can hold. A child
  // process reads each with 96 MiB of address space to spare (about 23
  // times the file); it exits 0 if the report came back without a throw.
  const std::string path = temp_path("worst.json");
  const std::size_t limit = lazyload::kMaxProfileBytes;
  std::string items = "[0";
  while (items.size() + 3 <= limit) items += ",0";
  items += "]";
  std::string entries = R"({"format": "lazyload-profile", "entries": [)";
  while (entries.size() + 16 <= limit) entries += R"({"name":""},)";
  entries += R"({"name":""}]})";
  for (const std::string* text : {&items, &entries}) {
    write_text(path, *text);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      long pages = 0;
      std::FILE* statm = std::fopen("/proc/self/statm", "r");
      if (statm == nullptr || std::fscanf(statm, "%ld", &pages) != 1) {
        ::_exit(3);
      }
      std::fclose(statm);
      rlimit limit_as{};
      if (::getrlimit(RLIMIT_AS, &limit_as) != 0) ::_exit(3);
      const rlim_t spare = rlim_t{96} << 20;
      limit_as.rlim_cur =
          std::min(limit_as.rlim_max,
                   static_cast<rlim_t>(pages) *
                           static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) +
                       spare);
      if (::setrlimit(RLIMIT_AS, &limit_as) != 0) ::_exit(3);
      try {
        LazyRegistry r;
        (void)lazyload::preload_profile(r, path);
      } catch (...) {
        ::_exit(1);
      }
      ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  std::filesystem::remove(path);
}
#endif
