// benchmarks/startup_benchmark.cpp
//
// The seeds' headline: a service holding 1,000 resources that each take 2 ms
// to load (a sleep, standing in for I/O) started in 10 to 30 s because it
// loaded everything first. This program starts that service three ways and
// times each:
//
//   eager          load all, then serve (what the seeds did)
//   lazy           register all in a LazyRegistry, serve the first request,
//                  which loads the one resource it needs
//   background/W   register, start_background() on W workers, serve at once;
//                  the request's resource, still queued, loads on its thread
//
// For each: time to ready (the service can take requests), time to first
// result (the first request, which needs resource 500, answered) and time to
// all loaded, all from the start of that run, medians over repetitions.
// Writes JSON (medians and every repetition) and a CSV timeline (loaded count
// against time, last repetition) for benchmarks/plot.py.
//
//   startup_benchmark [--json FILE] [--csv FILE] [--resources N]
//                     [--load-ms MS] [--repetitions R]

#include <algorithm>  // std::sort
#include <chrono>     // std::chrono
#include <cstdio>     // std::printf, std::FILE
#include <cstdlib>    // std::atoi
#include <cstring>    // std::strcmp
#include <lazyload/registry.hpp>
#include <memory>  // std::unique_ptr
#include <string>  // std::string
#include <thread>  // std::this_thread
#include <vector>  // std::vector

namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  int resources = 1000;
  int load_ms = 2;
  int repetitions = 3;
  std::string json = "startup.json";
  std::string csv = "startup_timeline.csv";
};

struct Resource {
  explicit Resource(int i) : id(i) {}
  int id;
};

std::unique_ptr<Resource> load_resource(int i, int load_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(load_ms));
  return std::make_unique<Resource>(i);
}

std::string name_of(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "res-%04d", i);
  return buf;
}

double ms_since(Clock::time_point t0, Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(t - t0).count();
}

// One run of one mode.
struct Run {
  double ready_ms = 0;
  double first_result_ms = 0;
  double all_loaded_ms = -1;         // -1: not everything loads in this mode
  std::vector<double> loaded_at_ms;  // when each load finished, sorted
};

Run run_eager(const Config& c) {
  Run run;
  const auto t0 = Clock::now();
  std::vector<std::unique_ptr<Resource>> all;
  all.reserve(static_cast<std::size_t>(c.resources));
  for (int i = 0; i < c.resources; ++i) {
    all.push_back(load_resource(i, c.load_ms));
    run.loaded_at_ms.push_back(ms_since(t0, Clock::now()));
  }
  run.ready_ms = ms_since(t0, Clock::now());
  volatile int answer = all[static_cast<std::size_t>(c.resources / 2)]->id;
  (void)answer;
  run.first_result_ms = ms_since(t0, Clock::now());
  run.all_loaded_ms = run.loaded_at_ms.back();
  return run;
}

// Lazy (workers == 0) or background on `workers` threads.
Run run_registry(const Config& c, unsigned workers) {
  Run run;
  const auto t0 = Clock::now();
  lazyload::RegistryOptions options;
  options.workers = workers == 0 ? 1 : workers;
  lazyload::LazyRegistry registry(options);
  const int load_ms = c.load_ms;
  for (int i = 0; i < c.resources; ++i) {
    registry.add(name_of(i),
                 [i, load_ms] { return load_resource(i, load_ms); });
  }
  if (workers != 0) registry.start_background();
  run.ready_ms = ms_since(t0, Clock::now());
  volatile int answer = registry.get<Resource>(name_of(c.resources / 2)).id;
  (void)answer;
  run.first_result_ms = ms_since(t0, Clock::now());
  if (workers != 0) {
    registry.wait_idle(std::chrono::minutes(5));
    run.all_loaded_ms = ms_since(t0, Clock::now());
  }
  for (const lazyload::LoadRecord& r : registry.timeline()) {
    if (r.ok) run.loaded_at_ms.push_back(ms_since(t0, r.finished_at));
  }
  std::sort(run.loaded_at_ms.begin(), run.loaded_at_ms.end());
  if (workers != 0 && !run.loaded_at_ms.empty()) {
    run.all_loaded_ms = run.loaded_at_ms.back();
  }
  return run;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0.0 : (n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

struct Mode {
  std::string name;
  unsigned workers;  // 0 for eager and lazy
  std::vector<Run> runs;
};

void print_list(std::FILE* f, const std::vector<Run>& runs,
                double Run::*field) {
  std::fprintf(f, "[");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    std::fprintf(f, "%s%.3f", i == 0 ? "" : ", ", runs[i].*field);
  }
  std::fprintf(f, "]");
}

double median_of(const std::vector<Run>& runs, double Run::*field) {
  std::vector<double> v;
  for (const Run& r : runs) v.push_back(r.*field);
  return median(v);
}

bool write_json(const Config& c, const std::vector<Mode>& modes) {
  std::FILE* f = std::fopen(c.json.c_str(), "w");
  if (f == nullptr) return false;
  std::fprintf(f,
               "{\n  \"resources\": %d,\n  \"load_ms\": %d,\n  "
               "\"repetitions\": %d,\n  \"modes\": [\n",
               c.resources, c.load_ms, c.repetitions);
  for (std::size_t m = 0; m < modes.size(); ++m) {
    const Mode& mode = modes[m];
    std::fprintf(f, "    {\"mode\": \"%s\", \"workers\": %u,\n",
                 mode.name.c_str(), mode.workers);
    std::fprintf(f,
                 "     \"ready_ms\": %.3f, \"first_result_ms\": %.3f, "
                 "\"all_loaded_ms\": %.3f,\n",
                 median_of(mode.runs, &Run::ready_ms),
                 median_of(mode.runs, &Run::first_result_ms),
                 median_of(mode.runs, &Run::all_loaded_ms));
    std::fprintf(f, "     \"runs_ready_ms\": ");
    print_list(f, mode.runs, &Run::ready_ms);
    std::fprintf(f, ",\n     \"runs_first_result_ms\": ");
    print_list(f, mode.runs, &Run::first_result_ms);
    std::fprintf(f, ",\n     \"runs_all_loaded_ms\": ");
    print_list(f, mode.runs, &Run::all_loaded_ms);
    std::fprintf(f, ",\n     \"loaded_in_last_run\": %zu}%s\n",
                 mode.runs.back().loaded_at_ms.size(),
                 m + 1 == modes.size() ? "" : ",");
  }
  std::fprintf(f, "  ]\n}\n");
  return std::fclose(f) == 0;
}

// mode,t_ms,loaded: one row per finished load of the last repetition, plus a
// first row at 0 and, for lazy, a row at the end of the eager run so that the
// flat line shows on the chart.
bool write_csv(const Config& c, const std::vector<Mode>& modes) {
  std::FILE* f = std::fopen(c.csv.c_str(), "w");
  if (f == nullptr) return false;
  std::fprintf(f, "mode,t_ms,loaded\n");
  const double end = modes.front().runs.back().all_loaded_ms;
  for (const Mode& mode : modes) {
    const Run& run = mode.runs.back();
    std::fprintf(f, "%s,0,0\n", mode.name.c_str());
    std::size_t count = 0;
    for (double t : run.loaded_at_ms) {
      std::fprintf(f, "%s,%.3f,%zu\n", mode.name.c_str(), t, ++count);
    }
    if (run.all_loaded_ms < 0) {
      std::fprintf(f, "%s,%.3f,%zu\n", mode.name.c_str(), end, count);
    }
  }
  return std::fclose(f) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--json") {
      c.json = value;
    } else if (flag == "--csv") {
      c.csv = value;
    } else if (flag == "--resources") {
      c.resources = std::atoi(value);
    } else if (flag == "--load-ms") {
      c.load_ms = std::atoi(value);
    } else if (flag == "--repetitions") {
      c.repetitions = std::atoi(value);
    } else {
      std::fprintf(stderr, "startup_benchmark: unknown flag '%s'\n", argv[i]);
      return 2;
    }
  }
  if (c.resources < 1 || c.load_ms < 0 || c.repetitions < 1) {
    std::fprintf(stderr, "startup_benchmark: bad arguments\n");
    return 2;
  }

  std::vector<Mode> modes = {{"eager", 0, {}},
                             {"lazy", 0, {}},
                             {"background_w2", 2, {}},
                             {"background_w4", 4, {}},
                             {"background_w8", 8, {}}};
  for (int rep = 0; rep < c.repetitions; ++rep) {
    for (Mode& mode : modes) {
      mode.runs.push_back(mode.name == "eager" ? run_eager(c)
                                               : run_registry(c, mode.workers));
      const Run& r = mode.runs.back();
      std::printf(
          "%-14s rep %d: ready %9.3f ms, first result %9.3f ms, "
          "all loaded %9.3f ms\n",
          mode.name.c_str(), rep, r.ready_ms, r.first_result_ms,
          r.all_loaded_ms);
    }
  }
  if (!write_json(c, modes) || !write_csv(c, modes)) {
    std::fprintf(stderr, "startup_benchmark: cannot write results\n");
    return 1;
  }
  return 0;
}
