// startup: the seeds' headline, measured. A program with many resources
// (1,000 by default, each taking ~2 ms to load and holding 64 KiB) started
// three ways:
//
//   eager       load everything, then serve (what the Python apps did first)
//   lazy        register everything, serve; a request loads what it needs
//   background  register, start 8 workers loading by priority, serve at once
//
// For each: time to ready (the program can answer), time to the first
// result (a request that needs one resource), time until all are loaded, and
// the resident memory when idle (after ready) and at its peak. Each mode runs
// in a fresh process, so that one mode's memory does not count in another's.
//
//   startup [RESOURCES]

#include <unistd.h>  // readlink

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <lazyload/lazyload.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kBytes = 64 * 1024;

struct Resource {
  Resource() : data(kBytes, 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // I/O
  }
  std::vector<char> data;
};

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Runs one mode in this process; prints one line of results.
int run_mode(const std::string& mode, int count) {
  const auto start = Clock::now();
  lazyload::RegistryOptions options;
  options.workers = 8;
  lazyload::LazyRegistry registry(options);
  for (int i = 0; i < count; ++i) {
    lazyload::EntryOptions o;
    o.priority = i;  // the order the application expects to need them
    registry.add(
        "r" + std::to_string(i), [] { return std::make_unique<Resource>(); },
        o);
  }
  if (mode == "eager") registry.load_all();
  if (mode == "background") registry.start_background();
  const auto ready = Clock::now();
  const std::size_t idle_rss = lazyload::process_rss_bytes();

  // The first request needs one resource, one the background pass gets to
  // last (so it does not just happen to be loaded already).
  const std::string wanted = "r" + std::to_string(count - 1);
  const char first = registry.get<Resource>(wanted).data[0];
  const auto first_result = Clock::now();

  double all_loaded = -1;  // lazy: never, by design
  if (mode != "lazy") {
    registry.wait_idle(std::chrono::minutes(5));
    all_loaded = ms(Clock::now() - start);
  }
  const std::size_t peak_rss = lazyload::process_rss_bytes();
  std::printf("%s %.3f %.3f %.3f %zu %zu %zu %d\n", mode.c_str(),
              ms(ready - start), ms(first_result - start), all_loaded, idle_rss,
              peak_rss, registry.snapshot().loaded, first);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && std::strcmp(argv[1], "--mode") == 0) {
    return run_mode(argv[2], argc > 3 ? std::atoi(argv[3]) : 1000);
  }
  const int count = argc > 1 ? std::atoi(argv[1]) : 1000;
  std::printf("%d resources, each ~2 ms to load and 64 KiB resident\n\n",
              count);
  std::printf("  %-11s %10s %13s %11s %9s %9s %7s\n", "mode", "ready",
              "first result", "all loaded", "idle RSS", "peak RSS", "loaded");
  // Each mode runs in a fresh copy of this program.
  char self[4096] = {};
  if (::readlink("/proc/self/exe", self, sizeof self - 1) <= 0) {
    std::snprintf(self, sizeof self, "%s", argv[0]);
  }
  for (const char* mode : {"eager", "lazy", "background"}) {
    const std::string cmd = "'" + std::string(self) + "' --mode " +
                            std::string(mode) + " " + std::to_string(count);
    std::FILE* child = ::popen(cmd.c_str(), "r");
    char name[32] = {};
    double ready = 0, first = 0, all = 0;
    std::size_t idle = 0, peak = 0, loaded = 0;
    int ignored = 0;
    const int fields =
        child == nullptr ? 0
                         : std::fscanf(child, "%31s %lf %lf %lf %zu %zu %zu %d",
                                       name, &ready, &first, &all, &idle, &peak,
                                       &loaded, &ignored);
    if (child != nullptr) ::pclose(child);
    if (fields != 8) {
      std::fprintf(stderr, "startup: mode %s failed\n", mode);
      return 1;
    }
    char all_text[32] = "on demand";
    if (all >= 0) std::snprintf(all_text, sizeof all_text, "%.1f ms", all);
    std::printf("  %-11s %7.1f ms %10.1f ms %11s %6.1f MB %6.1f MB %7zu\n",
                name, ready, first, all_text, double(idle) / 1e6,
                double(peak) / 1e6, loaded);
  }
  return 0;
}
