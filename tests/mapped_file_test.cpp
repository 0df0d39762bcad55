// Tests for lazyload/mapped_file.hpp.

#include "lazyload/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <type_traits>

#include "lazyload/handle.hpp"
#include "lazyload/registry.hpp"
#include "support/catch_compat.hpp"

namespace fs = std::filesystem;

namespace {

// A file of `size` bytes (i % 251) in a fresh temporary directory.
fs::path make_file(const std::string& name, std::size_t size) {
  const fs::path dir = fs::temp_directory_path() /
                       ("lazyload-mapped-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path path = dir / name;
  std::ofstream out(path, std::ios::binary);
  for (std::size_t i = 0; i < size; ++i) out.put(static_cast<char>(i % 251));
  return path;
}

bool is_mapped(const fs::path& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(path.string()) != std::string::npos) return true;
  }
  return false;
}

// The kB of this process's mapping of `path` that other processes map too
// (Shared_Clean + Shared_Dirty from smaps: pages just written may not have
// reached the disk yet, and count as dirty).
long shared_kb(const fs::path& path) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_mapping = false;
  long total = -1;
  while (std::getline(smaps, line)) {
    if (line.find(path.string()) != std::string::npos) {
      in_mapping = true;
      total = 0;
    } else if (in_mapping && (line.rfind("Shared_Clean:", 0) == 0 ||
                              line.rfind("Shared_Dirty:", 0) == 0)) {
      std::istringstream in(line.substr(13));
      long kb = 0;
      in >> kb;
      total += kb;
    } else if (in_mapping && line.rfind("VmFlags:", 0) == 0) {
      break;  // the end of this mapping's block
    }
  }
  return total;
}

long touch_all(const std::byte* data, std::size_t size) {
  long sum = 0;
  for (std::size_t i = 0; i < size; i += 4096)
    sum += static_cast<long>(data[i]);
  return sum;
}

}  // namespace

TEST_CASE("mapped_file maps the file's bytes on first use", "[mapped_file]") {
  const fs::path path = make_file("weights.bin", 100000);
  lazyload::LazyHandle weights{"weights", lazyload::mapped_file(path)};
  STATIC_REQUIRE(std::is_same_v<decltype(weights),
                                lazyload::LazyHandle<lazyload::MappedFile>>);
  CHECK_FALSE(is_mapped(path));
  REQUIRE(weights->size() == 100000);
  CHECK(weights->data()[0] == std::byte{0});
  CHECK(weights->data()[99999] == std::byte{99999 % 251});
  CHECK(weights->path() == path.string());
  CHECK(weights.stats().size_bytes == 100000);
  CHECK(is_mapped(path));
}

TEST_CASE("the mapping goes away with the value", "[mapped_file]") {
  const fs::path path = make_file("unmap.bin", 8192);
  lazyload::LazyHandle weights{lazyload::mapped_file(path)};
  weights.load();
  CHECK(is_mapped(path));
  weights.unload();
  CHECK_FALSE(is_mapped(path));
}

TEST_CASE("an empty file maps to nothing", "[mapped_file]") {
  const fs::path path = make_file("empty.bin", 0);
  lazyload::MappedFile f(path.string());
  CHECK(f.size() == 0);
  CHECK(f.data() == nullptr);
}

TEST_CASE("a missing file is a load error naming the path and the OS error",
          "[mapped_file]") {
  lazyload::LazyHandle weights{"weights",
                               lazyload::mapped_file("/nonexistent/model.bin")};
  CHECK_THROWS_WITH_AS(weights.get(),
                       "lazyload: loading 'weights' failed: cannot map "
                       "'/nonexistent/model.bin': No such file or directory",
                       lazyload::LoadError);
}

TEST_CASE("mapping a missing file throws a LazyError naming it",
          "[mapped_file]") {
  CHECK_THROWS_WITH_AS(lazyload::MappedFile("/nonexistent/model.bin"),
                       "lazyload: cannot map '/nonexistent/model.bin': No "
                       "such file or directory",
                       lazyload::LazyError);
}

TEST_CASE("a directory is refused, naming it", "[mapped_file]") {
  const fs::path dir = make_file("x", 1).parent_path();
  CHECK_THROWS_WITH_AS(
      lazyload::MappedFile(dir.string()),
      "lazyload: cannot map '" + dir.string() + "': is a directory",
      lazyload::LazyError);
}

TEST_CASE("a device is refused, naming it", "[mapped_file]") {
  CHECK_THROWS_WITH_AS(
      lazyload::MappedFile("/dev/zero"),
      "lazyload: cannot map '/dev/zero': is not a regular file",
      lazyload::LazyError);
}

TEST_CASE("a FIFO is refused at once, never waited on", "[mapped_file]") {
  const fs::path path = make_file("x", 1).parent_path() / "fifo";
  fs::remove(path);
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  lazyload::LazyHandle weights{"weights", lazyload::mapped_file(path)};
  auto done = std::async(std::launch::async, [&]() -> std::string {
    try {
      weights.load();
    } catch (const lazyload::LoadError& e) {
      return e.what();
    }
    return "no error";
  });
  if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    // Blocked in open(): a writer lets it return.
    const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    FAIL_CHECK("mapped_file blocked on a FIFO");
  }
  CHECK(done.get() == "lazyload: loading 'weights' failed: cannot map '" +
                          path.string() + "': is not a regular file");
  fs::remove(path);
}

TEST_CASE("a moved-from MappedFile owns nothing", "[mapped_file]") {
  const fs::path path = make_file("move.bin", 4096);
  lazyload::MappedFile a(path.string());
  const std::byte* data = a.data();
  lazyload::MappedFile b(std::move(a));
  CHECK(b.data() == data);
  CHECK(a.data() == nullptr);  // NOLINT(bugprone-use-after-move)
  CHECK(a.size() == 0);        // NOLINT(bugprone-use-after-move)
}

TEST_CASE("processes mapping the same file share its pages", "[mapped_file]") {
  constexpr std::size_t kSize = 4u << 20;
  const fs::path path = make_file("shared.bin", kSize);
  int ready[2];
  int done[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(done) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The other worker: maps and reads the same weights, then waits.
    lazyload::MappedFile f(path.string());
    const long sum = touch_all(f.data(), f.size());
    char byte = sum > 0 ? 1 : 0;
    (void)!::write(ready[1], &byte, 1);
    (void)!::read(done[0], &byte, 1);
    ::_exit(0);
  }
  lazyload::LazyHandle weights{lazyload::mapped_file(path)};
  CHECK(touch_all(weights->data(), weights->size()) > 0);
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  const long shared = shared_kb(path);
  (void)!::write(done[1], &byte, 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  // Every page is mapped by both processes: one copy in the page cache.
  CHECK(shared >= static_cast<long>(kSize / 1024) - 4);
}

TEST_CASE("a registry counts a mapped file's size", "[mapped_file]") {
  const fs::path path = make_file("budget.bin", 12345);
  lazyload::LazyRegistry r;
  r.add("weights", lazyload::mapped_file(path));
  r.load("weights");
  const auto s = r.snapshot();
  CHECK(s.bytes_loaded == 12345);
  CHECK(s.entries[0].size_bytes == 12345);
  CHECK(s.entries[0].type == "lazyload::MappedFile");
}
