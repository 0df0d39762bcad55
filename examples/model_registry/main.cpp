// model_registry: the annotation tool's models, loaded on demand by name.
//
// The Python original started in 10 to 30 s because it loaded three neural
// networks at startup. Made lazy, it starts in under a second, lists each
// model as available or loaded, loads one when the user presses LOAD
// (`POST /api/load-model`), creates the shared training orchestrator only
// when the first model loads, answers at once for a model already loaded, and
// reports errors per model. This is that flow with lazyload's registry: the
// orchestrator is an entry every model `depends_on`, and each model's loading
// is real work: its weights file is generated once, then read and checked.
//
//   model_registry                      a short scripted session
//   model_registry load CNN status      commands from the arguments
//   model_registry -i                   commands typed at a prompt:
//                                       load NAME, unload NAME, load-all,
//                                       publish NAME, reload NAME,
//                                       serve-while-reloading NAME,
//                                       status, quit
//
// `publish NAME` writes the next version of NAME's weights file, as a
// training run would; `reload NAME` picks it up with registry.reload(), which
// loads it while the current version keeps answering and swaps it in at once.
// `serve-while-reloading NAME` shows that under load: request threads answer
// from try_lease() (the README's serving pattern) while NAME reloads, and it
// checks that every request was answered, by the old version until the swap
// and by the new one after it; it exits non-zero if not.
//
// It remembers which models were used (a usage profile saved at exit) and
// loads them in the background at the next start: the seed's wish to
// "remember the last model". `--no-profile` starts cold.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <lazyload/lazyload.hpp>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

// A weights file: "LZW2", the version, the number of floats, the floats,
// their checksum. Each version has different weights.
std::uint64_t checksum(const std::vector<float>& w) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a over the bytes
  const auto* bytes = reinterpret_cast<const unsigned char*>(w.data());
  for (std::size_t i = 0; i < w.size() * sizeof(float); ++i) {
    h = (h ^ bytes[i]) * 1099511628211ULL;
  }
  return h;
}

// Writes version `version` of a weights file. It writes a temporary file and
// renames it over `path`, as a deployment does: a load reading the old file
// keeps reading it whole, and the next load reads the new one whole.
void write_weights(const fs::path& path, std::uint64_t version,
                   std::size_t count, bool corrupt) {
  std::vector<float> w(count);
  std::uint64_t state = count ^ (version << 32);
  for (float& x : w) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<float>(state >> 40) / static_cast<float>(1 << 24);
  }
  std::uint64_t sum = checksum(w) + (corrupt ? 1 : 0);
  fs::path temporary = path;
  temporary += ".tmp" + std::to_string(std::random_device{}());
  {
    std::ofstream out(temporary, std::ios::binary);
    const std::uint64_t n = count;
    out.write("LZW2", 4);
    out.write(reinterpret_cast<const char*>(&version), sizeof version);
    out.write(reinterpret_cast<const char*>(&n), sizeof n);
    out.write(reinterpret_cast<const char*>(w.data()),
              static_cast<std::streamsize>(count * sizeof(float)));
    out.write(reinterpret_cast<const char*>(&sum), sizeof sum);
    if (!out) throw std::runtime_error(temporary.string() + ": cannot write");
  }
  fs::rename(temporary, path);
}

// The version in a weights file's header; 0 if it has none (no file, or one
// in an older format).
std::uint64_t file_version(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4];
  std::uint64_t version = 0;
  in.read(magic, 4);
  in.read(reinterpret_cast<char*>(&version), sizeof version);
  return in && std::string(magic, 4) == "LZW2" ? version : 0;
}

struct Orchestrator {
  Orchestrator() { std::puts("  (training orchestrator created)"); }
};

// Set when a model is destroyed while a request still uses it: what leases
// rule out. serve-while-reloading checks it stays zero.
std::atomic<int> destroyed_in_use{0};

struct Model {
  std::string name;
  std::uint64_t version = 0;
  std::vector<float> weights;
  // Requests answering from this model now (counted by serve-while-reloading).
  mutable std::atomic<int> in_flight{0};

  Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  ~Model() {
    if (in_flight.load() != 0) destroyed_in_use.fetch_add(1);
  }

  // One request's work: a dot product over a slice of the weights.
  float predict(float input) const {
    const std::size_t start =
        static_cast<std::size_t>(input * 977.0F) % (weights.size() - 64);
    float sum = 0.0F;
    for (std::size_t i = start; i < start + 64; ++i) sum += weights[i] * input;
    return sum;
  }
};

// Reads and checks a weights file: the real work of loading a model.
std::unique_ptr<Model> read_model(const std::string& name, const fs::path& path,
                                  lazyload::Progress& progress) {
  progress.report(0.0, "open");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  char magic[4];
  std::uint64_t version = 0;
  std::uint64_t n = 0;
  in.read(magic, 4);
  in.read(reinterpret_cast<char*>(&version), sizeof version);
  in.read(reinterpret_cast<char*>(&n), sizeof n);
  if (!in || std::string(magic, 4) != "LZW2" || n < 64) {
    throw std::runtime_error(path.string() + ": not a weights file");
  }
  auto model = std::make_unique<Model>();
  model->name = name;
  model->version = version;
  model->weights.resize(n);
  progress.report(0.1, "weights");
  in.read(reinterpret_cast<char*>(model->weights.data()),
          static_cast<std::streamsize>(n * sizeof(float)));
  std::uint64_t expected = 0;
  in.read(reinterpret_cast<char*>(&expected), sizeof expected);
  progress.report(0.9, "verify");
  if (!in || checksum(model->weights) != expected) {
    throw std::runtime_error(path.string() + ": checksum mismatch");
  }
  progress.set_size(n * sizeof(float));
  progress.report(1.0, "ready");
  return model;
}

struct Spec {
  const char* name;
  std::size_t floats;
  bool corrupt;
};

// What the commands work on: the registry and the models' weights files.
struct Session {
  lazyload::LazyRegistry& registry;
  fs::path dir;
  std::vector<Spec> specs;

  fs::path weights_path(const std::string& name) const {
    return dir / (name + ".weights");
  }
  const Spec* find(const std::string& name) const {
    for (const Spec& spec : specs) {
      if (name == spec.name) return &spec;
    }
    return nullptr;
  }
  // The version of `name` answering requests now; 0 if it is not loaded.
  std::uint64_t serving(const std::string& name) {
    const std::shared_ptr<Model> model = registry.try_lease<Model>(name);
    return model ? model->version : 0;
  }
};

void print_status(const lazyload::LazyRegistry& registry) {
  const lazyload::RegistrySnapshot s = registry.snapshot();
  std::printf("  %-13s %-9s %9s %8s  %s\n", "NAME", "STATUS", "LOAD TIME",
              "SIZE", "ERROR");
  for (const lazyload::EntrySnapshot& e : s.entries) {
    char size[32] = "-";
    if (e.size_bytes != 0) {
      std::snprintf(size, sizeof size, "%.1f MB", double(e.size_bytes) / 1e6);
    }
    std::printf("  %-13s %-9s %7.1fms %8s  %s\n", e.name.c_str(),
                lazyload::to_string(e.status).c_str(), e.load_time * 1e3, size,
                e.error.c_str());
  }
  std::printf("  %zu of %zu loaded, %zu failed, %.1f MB in memory\n", s.loaded,
              s.total, s.failed, double(s.bytes_loaded) / 1e6);
}

// Writes the next version of `name`'s weights file; returns that version.
std::uint64_t publish(Session& session, const Spec& spec) {
  const fs::path path = session.weights_path(spec.name);
  const std::uint64_t version = file_version(path) + 1;
  write_weights(path, version, spec.floats, spec.corrupt);
  return version;
}

// What one request thread saw during serve-while-reloading.
struct Tally {
  std::uint64_t before = 0;       // answered before the reload started
  std::uint64_t old_during = 0;   // by the old version while the reload ran
  std::uint64_t new_during = 0;   // by the new one, before reload() returned
  std::uint64_t after = 0;        // by the new one, after reload() returned
  std::uint64_t empty = 0;        // got no lease: no model to answer with
  std::uint64_t wrong = 0;        // the old version after the new one had
                                  // answered, or after reload() returned
  std::uint64_t new_version = 0;  // the version that answered after the old
  bool mixed = false;             // more than one version after the old one
  double longest_ms = 0.0;        // the longest request
  std::atomic<std::uint64_t> answered{0};  // read by the main thread
  std::atomic<std::uint64_t> answered_after{0};
};

enum Phase : int { kBefore, kReloading, kReturned, kStop };

// A request thread: answers requests from whatever version try_lease() gives,
// as a server's handler does, until told to stop. A request comes about every
// 50 microseconds, so the threads leave the loading thread a core.
void serve(lazyload::LazyRegistry& registry, const std::string& name,
           std::uint64_t old_version, const std::atomic<int>& phase,
           Tally& tally) {
  volatile float sink = 0.0F;  // keeps predict() from being optimized away
  float input = 0.0F;
  bool seen_new = false;
  for (;;) {
    // Read before the request: a request that starts after reload() returned
    // must be answered by the new version.
    const int now = phase.load(std::memory_order_acquire);
    if (now == kStop) break;
    const auto start = Clock::now();
    {
      const std::shared_ptr<Model> model = registry.try_lease<Model>(name);
      if (!model) {
        ++tally.empty;  // a server would answer "not ready"
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      model->in_flight.fetch_add(1);
      sink = sink + model->predict(input += 0.001F);
      const std::uint64_t version = model->version;
      model->in_flight.fetch_sub(1);
      if (version == old_version) {
        if (seen_new || now == kReturned) {
          ++tally.wrong;
        } else if (now == kBefore) {
          ++tally.before;
        } else {
          ++tally.old_during;
        }
      } else {
        if (seen_new && version != tally.new_version) tally.mixed = true;
        seen_new = true;
        tally.new_version = version;
        if (now != kReturned) {
          // Read before the reload started, a phase can be stale by the
          // time of the lease: such a request ran during the reload.
          ++tally.new_during;
        } else {
          ++tally.after;
          tally.answered_after.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    tally.longest_ms = std::max(tally.longest_ms, ms_since(start));
    tally.answered.fetch_add(1, std::memory_order_relaxed);
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// Waits until `done()`, looking every millisecond; returns false if it has
// not happened within a minute (a generous bound: a sanitizer build is slow).
template <class Done> bool wait_until(Done done) {
  const auto deadline = Clock::now() + std::chrono::minutes(1);
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// What serve-while-reloading saw, added up over the request threads.
struct Run {
  std::uint64_t old_version = 0;
  std::uint64_t new_version = 0;  // what answers after reload() returned
  double reload_ms = 0.0;
  std::string error;                 // the reload's, if it failed
  std::vector<std::string> stalled;  // waits that gave up
  std::uint64_t old_during = 0;
  std::uint64_t new_during = 0;
  std::uint64_t after = 0;
  std::uint64_t empty = 0;
  std::uint64_t wrong = 0;
  bool mixed = false;
  double longest_ms = 0.0;
  bool old_model_alive = false;  // after every lease of it ended
};

void add_up(const std::vector<Tally>& tallies, Run& run) {
  for (const Tally& t : tallies) {
    run.old_during += t.old_during;
    run.new_during += t.new_during;
    run.after += t.after;
    run.empty += t.empty;
    run.wrong += t.wrong;
    run.mixed = run.mixed || t.mixed ||
                (t.new_version != 0 && t.new_version != run.new_version);
    run.longest_ms = std::max(run.longest_ms, t.longest_ms);
  }
}

// The facts serve-while-reloading promises that did not hold; empty if all
// did.
std::vector<std::string> what_failed(const Run& run) {
  std::vector<std::string> failed = run.stalled;
  const bool swapped = run.error.empty() && run.new_version != run.old_version;
  if (!run.error.empty()) {
    failed.emplace_back("the reload failed: " + run.error);
  }
  if (run.new_version == run.old_version) {
    failed.emplace_back("the version did not change");
  }
  if (run.old_during == 0) {
    failed.emplace_back(
        "no request was answered by the old version during the reload");
  }
  if (swapped && run.after == 0) {
    failed.emplace_back("no request was answered by the new version after it");
  }
  if (run.wrong != 0) {
    failed.emplace_back(std::to_string(run.wrong) +
                        " requests were answered by the old version after "
                        "the swap");
  }
  if (run.mixed) failed.emplace_back("more than one new version answered");
  if (run.empty != 0) {
    failed.emplace_back(std::to_string(run.empty) +
                        " requests got an empty lease");
  }
  if (run.old_model_alive) {
    failed.emplace_back("the old model is still alive after its last lease");
  }
  if (destroyed_in_use.load() != 0) {
    failed.emplace_back("a model was destroyed while a request used it");
  }
  return failed;
}

// Publishes a new version of `spec`, reloads it on another thread while
// `threads` request threads answer, and returns what they saw.
Run reload_under_load(Session& session, const Spec& spec, int threads) {
  const std::string name = spec.name;
  lazyload::LazyRegistry& registry = session.registry;
  Run run;
  registry.load(name);  // requests are served from a loaded model
  std::weak_ptr<Model> old_model = registry.try_lease<Model>(name);
  run.old_version = session.serving(name);
  publish(session, spec);

  std::atomic<int> phase{kBefore};
  std::vector<Tally> tallies(static_cast<std::size_t>(threads));
  std::vector<std::thread> servers;
  servers.reserve(tallies.size());
  for (Tally& tally : tallies) {
    servers.emplace_back(serve, std::ref(registry), name, run.old_version,
                         std::cref(phase), std::ref(tally));
  }
  const auto all = [&](const std::atomic<std::uint64_t> Tally::*count) {
    return wait_until([&] {
      return std::all_of(tallies.begin(), tallies.end(), [&](const Tally& t) {
        return (t.*count).load(std::memory_order_relaxed) >= 100;
      });
    });
  };
  if (!all(&Tally::answered)) {
    run.stalled.emplace_back(
        "the request threads did not all answer before the reload");
  }
  std::thread reloader([&] {
    phase.store(kReloading, std::memory_order_release);
    const auto start = Clock::now();
    try {
      registry.reload(name);
    } catch (const lazyload::LazyError& e) {
      run.error = e.what();
    }
    run.reload_ms = ms_since(start);
    phase.store(kReturned, std::memory_order_release);
  });
  reloader.join();
  run.new_version = session.serving(name);
  if (run.error.empty() && run.new_version != run.old_version &&
      !all(&Tally::answered_after)) {
    run.stalled.emplace_back(
        "the request threads did not all answer after the reload");
  }
  phase.store(kStop, std::memory_order_release);
  for (std::thread& server : servers) server.join();
  add_up(tallies, run);
  run.old_model_alive = !old_model.expired();
  return run;
}

// serve-while-reloading NAME: reloads NAME under load and checks that every
// request was answered, by the old version until the swap and by the new one
// after it. Prints what happened; returns whether every check held.
bool serve_while_reloading(Session& session, const Spec& spec) {
  constexpr int kThreads = 4;
  const Run run = reload_under_load(session, spec, kThreads);
  const std::vector<std::string> failed = what_failed(run);
  for (const std::string& why : failed) {
    std::printf("> serve-while-reloading %s: FAILED: %s\n", spec.name,
                why.c_str());
  }
  if (!failed.empty()) return false;
  const auto v = [](std::uint64_t n) {
    return static_cast<unsigned long long>(n);
  };
  std::printf(
      "> serve-while-reloading %s: v%llu -> v%llu in %.1f ms; %d request "
      "threads answered %llu requests during the reload, all from v%llu "
      "until the swap, then v%llu (%llu more after); none got an empty "
      "lease; longest request %.3f ms; the old model was destroyed after "
      "its last lease\n",
      spec.name, v(run.old_version), v(run.new_version), run.reload_ms,
      kThreads, v(run.old_during + run.new_during), v(run.old_version),
      v(run.new_version), v(run.after), run.longest_ms);
  return true;
}

// reload NAME: picks up the weights file on disk while the current version
// keeps answering.
void reload(Session& session, const std::string& name) {
  const auto start = Clock::now();
  std::uint64_t before = 0;
  try {
    before = session.serving(name);
    session.registry.reload(name);
    const std::uint64_t after = session.serving(name);
    if (before == 0) {
      std::printf("> reload %s: was not loaded; loaded v%llu in %.1f ms\n",
                  name.c_str(), static_cast<unsigned long long>(after),
                  ms_since(start));
    } else if (after == before) {
      std::printf(
          "> reload %s: v%llu again in %.1f ms (`publish %s` writes "
          "a new version)\n",
          name.c_str(), static_cast<unsigned long long>(after), ms_since(start),
          name.c_str());
    } else {
      std::printf(
          "> reload %s: v%llu -> v%llu in %.1f ms, v%llu answering until "
          "the swap\n",
          name.c_str(), static_cast<unsigned long long>(before),
          static_cast<unsigned long long>(after), ms_since(start),
          static_cast<unsigned long long>(before));
    }
  } catch (const lazyload::LazyError& e) {
    std::printf("> reload %s: error: %s\n", name.c_str(), e.what());
    if (before != 0) {
      std::printf("  v%llu still answers\n",
                  static_cast<unsigned long long>(session.serving(name)));
    }
  }
}

enum class Outcome { ok, failed, quit };

bool takes_name(const std::string& verb) {
  return verb == "load" || verb == "unload" || verb == "reload" ||
         verb == "publish" || verb == "serve-while-reloading";
}

// Runs one command.
Outcome run(Session& session, const std::string& verb,
            const std::string& name) {
  lazyload::LazyRegistry& registry = session.registry;
  if (verb == "status" || verb == "list") {
    print_status(registry);
  } else if (verb == "load-all") {
    const std::size_t failed = registry.load_all();
    std::printf("> load-all: %zu failed\n", failed);
  } else if (verb == "publish" || verb == "serve-while-reloading") {
    const Spec* spec = session.find(name);
    if (spec == nullptr) {
      std::printf("> %s %s: error: no model named '%s'\n", verb.c_str(),
                  name.c_str(), name.c_str());
    } else if (verb == "publish") {
      const std::uint64_t version = publish(session, *spec);
      std::printf(
          "> publish %s: wrote v%llu of its weights file; `reload "
          "%s` picks it up\n",
          name.c_str(), static_cast<unsigned long long>(version), name.c_str());
    } else {
      try {
        if (!serve_while_reloading(session, *spec)) return Outcome::failed;
      } catch (const lazyload::LazyError& e) {
        std::printf("> %s %s: error: %s\n", verb.c_str(), name.c_str(),
                    e.what());
        return Outcome::failed;
      }
    }
  } else if (verb == "reload") {
    reload(session, name);
  } else if (verb == "load" || verb == "unload") {
    const auto start = Clock::now();
    try {
      if (verb == "load") {
        const bool was_loaded = registry.entry(name).is_loaded();
        registry.load(name);
        std::printf("> load %s: %s in %.1f ms\n", name.c_str(),
                    was_loaded ? "already loaded, answered" : "loaded",
                    ms_since(start));
      } else {
        registry.unload(name);
        std::printf("> unload %s: memory freed\n", name.c_str());
      }
    } catch (const lazyload::LazyError& e) {
      std::printf("> %s %s: error: %s\n", verb.c_str(), name.c_str(), e.what());
    }
  } else if (verb == "quit" || verb == "exit") {
    return Outcome::quit;
  } else {
    std::printf(
        "> unknown command '%s' (load NAME, unload NAME, load-all, "
        "publish NAME, reload NAME, serve-while-reloading NAME, status, "
        "quit)\n",
        verb.c_str());
  }
  return Outcome::ok;
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path dir = fs::temp_directory_path() / "lazyload-model-registry";
  fs::create_directories(dir);
  const std::vector<Spec> specs = {{"DQN", 1u << 20, false},
                                   {"CNN", 1u << 22, false},
                                   {"Transformer", 1u << 23, false},
                                   {"LSTM", 1u << 21, true}};

  // Setup, not startup: the weights files stand in for files on disk.
  for (const Spec& spec : specs) {
    const fs::path path = dir / (std::string(spec.name) + ".weights");
    if (file_version(path) == 0)
      write_weights(path, 1, spec.floats, spec.corrupt);
  }

  const auto start = Clock::now();
  lazyload::LazyRegistry registry;
  registry.add("orchestrator", [] { return std::make_unique<Orchestrator>(); });
  for (const Spec& spec : specs) {
    const fs::path path = dir / (std::string(spec.name) + ".weights");
    lazyload::EntryOptions options;
    options.depends_on = {"orchestrator"};
    registry.add(
        spec.name,
        [name = std::string(spec.name), path](lazyload::Progress& p) {
          return read_model(name, path, p);
        },
        options);
  }
  std::printf("ready in %.1f ms; %zu models available, none loaded\n",
              ms_since(start), specs.size());
  Session session{registry, dir, specs};

  std::vector<std::string> args(argv + 1, argv + argc);
  const bool use_profile = args.empty() || args[0] != "--no-profile";
  if (!use_profile) args.erase(args.begin());
  const std::string profile = (dir / "profile.json").string();
  if (use_profile) {
    // Warm start: what the last run used loads in the background now.
    const lazyload::ProfileReport warm =
        lazyload::preload_profile(registry, profile);
    if (!warm.error.empty()) std::printf("%s\n", warm.error.c_str());
    for (const std::string& name : warm.queued) {
      std::printf("warm start: loading %s in the background (used last time)\n",
                  name.c_str());
    }
  }
  bool failed = false;
  if (!args.empty() && (args[0] == "-i" || args[0] == "--interactive")) {
    std::string line;
    while (std::printf("lazyload> "), std::fflush(stdout),
           std::getline(std::cin, line)) {
      std::istringstream words(line);
      std::string verb, name;
      words >> verb >> name;
      if (verb.empty()) continue;
      const Outcome outcome = run(session, verb, name);
      if (outcome == Outcome::quit) break;
      failed = failed || outcome == Outcome::failed;
    }
    if (use_profile) lazyload::save_profile(registry, profile);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
  }
  if (args.empty()) {
    args = {"status", "load", "CNN", "load",   "CNN", "load",
            "LSTM",   "load", "DQN", "unload", "CNN", "status"};
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& verb = args[i];
    const std::string name =
        takes_name(verb) && i + 1 < args.size() ? args[++i] : std::string();
    const Outcome outcome = run(session, verb, name);
    if (outcome == Outcome::quit) break;
    failed = failed || outcome == Outcome::failed;
  }
  if (use_profile) lazyload::save_profile(registry, profile);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
