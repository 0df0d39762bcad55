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
//                                       status, quit
//
// It remembers which models were used (a usage profile saved at exit) and
// loads them in the background at the next start: the seed's wish to
// "remember the last model". `--no-profile` starts cold.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <lazyload/lazyload.hpp>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// A weights file: "LZW1", the number of floats, the floats, their checksum.
std::uint64_t checksum(const std::vector<float>& w) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a over the bytes
  const auto* bytes = reinterpret_cast<const unsigned char*>(w.data());
  for (std::size_t i = 0; i < w.size() * sizeof(float); ++i) {
    h = (h ^ bytes[i]) * 1099511628211ULL;
  }
  return h;
}

void write_weights(const fs::path& path, std::size_t count, bool corrupt) {
  std::vector<float> w(count);
  std::uint64_t state = count;
  for (float& x : w) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<float>(state >> 40) / static_cast<float>(1 << 24);
  }
  std::uint64_t sum = checksum(w) + (corrupt ? 1 : 0);
  std::ofstream out(path, std::ios::binary);
  const std::uint64_t n = count;
  out.write("LZW1", 4);
  out.write(reinterpret_cast<const char*>(&n), sizeof n);
  out.write(reinterpret_cast<const char*>(w.data()),
            static_cast<std::streamsize>(count * sizeof(float)));
  out.write(reinterpret_cast<const char*>(&sum), sizeof sum);
}

struct Orchestrator {
  Orchestrator() { std::puts("  (training orchestrator created)"); }
};

struct Model {
  std::string name;
  std::vector<float> weights;
};

// Reads and checks a weights file: the real work of loading a model.
std::unique_ptr<Model> read_model(const std::string& name, const fs::path& path,
                                  lazyload::Progress& progress) {
  progress.report(0.0, "open");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  char magic[4];
  std::uint64_t n = 0;
  in.read(magic, 4);
  in.read(reinterpret_cast<char*>(&n), sizeof n);
  if (!in || std::string(magic, 4) != "LZW1") {
    throw std::runtime_error(path.string() + ": not a weights file");
  }
  auto model = std::make_unique<Model>();
  model->name = name;
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

// Runs one command; returns false for "quit".
bool run(lazyload::LazyRegistry& registry, const std::string& verb,
         const std::string& name) {
  using Clock = std::chrono::steady_clock;
  if (verb == "status" || verb == "list") {
    print_status(registry);
  } else if (verb == "load-all") {
    const std::size_t failed = registry.load_all();
    std::printf("> load-all: %zu failed\n", failed);
  } else if (verb == "load" || verb == "unload") {
    const auto start = Clock::now();
    try {
      if (verb == "load") {
        const bool was_loaded = registry.entry(name).is_loaded();
        registry.load(name);
        std::printf(
            "> load %s: %s in %.1f ms\n", name.c_str(),
            was_loaded ? "already loaded, answered" : "loaded",
            std::chrono::duration<double, std::milli>(Clock::now() - start)
                .count());
      } else {
        registry.unload(name);
        std::printf("> unload %s: memory freed\n", name.c_str());
      }
    } catch (const lazyload::LazyError& e) {
      std::printf("> %s %s: error: %s\n", verb.c_str(), name.c_str(), e.what());
    }
  } else if (verb == "quit" || verb == "exit") {
    return false;
  } else {
    std::printf(
        "> unknown command '%s' (load NAME, unload NAME, load-all, "
        "status, quit)\n",
        verb.c_str());
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path dir = fs::temp_directory_path() / "lazyload-model-registry";
  fs::create_directories(dir);
  struct Spec {
    const char* name;
    std::size_t floats;
    bool corrupt;
  };
  const std::vector<Spec> specs = {{"DQN", 1u << 20, false},
                                   {"CNN", 1u << 22, false},
                                   {"Transformer", 1u << 23, false},
                                   {"LSTM", 1u << 21, true}};

  // Setup, not startup: the weights files stand in for files on disk.
  for (const Spec& spec : specs) {
    const fs::path path = dir / (std::string(spec.name) + ".weights");
    if (!fs::exists(path)) write_weights(path, spec.floats, spec.corrupt);
  }

  const auto start = std::chrono::steady_clock::now();
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
              std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count(),
              specs.size());

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
  if (!args.empty() && (args[0] == "-i" || args[0] == "--interactive")) {
    std::string line;
    while (std::printf("lazyload> "), std::fflush(stdout),
           std::getline(std::cin, line)) {
      std::istringstream words(line);
      std::string verb, name;
      words >> verb >> name;
      if (!verb.empty() && !run(registry, verb, name)) break;
    }
    if (use_profile) lazyload::save_profile(registry, profile);
    return 0;
  }
  if (args.empty()) {
    args = {"status", "load", "CNN", "load",   "CNN", "load",
            "LSTM",   "load", "DQN", "unload", "CNN", "status"};
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& verb = args[i];
    const bool takes_name = verb == "load" || verb == "unload";
    const std::string name =
        takes_name && i + 1 < args.size() ? args[++i] : std::string();
    if (!run(registry, verb, name)) break;
  }
  if (use_profile) lazyload::save_profile(registry, profile);
  return 0;
}
