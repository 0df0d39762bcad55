// lazy_plugins: the seeds' lazy package loader, with shared libraries.
//
// The Python original proxied heavy packages (torch, transformers, cv2, ...)
// so that the service started at once, imported the common ones in the
// background by priority, imported any other one on first use, reported a
// missing package clearly while the others still loaded, and showed load
// times in a status endpoint. Here the packages are shared libraries built
// next to this program (plugins/*.cpp), each with an initializer that takes
// a while, like a real runtime's; "cv2" is registered but missing on
// purpose. The program shows a progress bar while they load (redrawn in
// place on a terminal, plain lines otherwise), answers requests meanwhile,
// prints the status table, and shows the unload rule at work.
//
//   lazy_plugins

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <lazyload/registry.hpp>
#include <lazyload/shared_library.hpp>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using lazyload::LazySymbol;
using lazyload::SharedLibrary;

const Clock::time_point kStart = Clock::now();

double seconds_since_start() {
  return std::chrono::duration<double>(Clock::now() - kStart).count();
}

// Whether `path` is mapped into this process (/proc/self/maps).
bool is_mapped(const fs::path& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const std::string name = fs::weakly_canonical(path).string();
  while (std::getline(maps, line)) {
    if (line.find(name) != std::string::npos) return true;
  }
  return false;
}

// The terminal: lines printed above a progress bar that is redrawn in place
// when stdout is a terminal; plain lines, one per status change, otherwise.
// Both the main thread (the bar) and the request thread (lines) print.
class Console {
 public:
  explicit Console(bool tty) : tty_(tty) {}

  // Prints `text` on a line of its own, above the bar.
  void line(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (tty_) std::printf("\r\033[2K");
    std::printf("%6.2f s  %s\n", seconds_since_start(), text.c_str());
    if (tty_) std::printf("%s", bar_.c_str());
    std::fflush(stdout);
  }

  // Shows the progress in `s`: redraws the bar, or prints status changes.
  void progress(const lazyload::RegistrySnapshot& s) {
    std::lock_guard<std::mutex> lock(mutex_);
    bar_ = render(s);
    if (tty_) {
      std::printf("\r\033[2K%s", bar_.c_str());
      std::fflush(stdout);
      return;
    }
    for (const lazyload::EntrySnapshot& e : s.entries) {
      lazyload::Status& seen = seen_[e.name];
      if (e.status == seen) continue;
      seen = e.status;
      std::string text = "[" + percent(s) + "] " + e.name + " " +
                         std::string(lazyload::to_string(e.status));
      if (e.status == lazyload::Status::loaded) {
        text += " in " + milliseconds(e.load_time);
      } else if (e.status == lazyload::Status::failed) {
        text += ": " + e.error;
      }
      std::printf("%6.2f s  %s\n", seconds_since_start(), text.c_str());
    }
    std::fflush(stdout);
  }

  // Ends the bar's line.
  void finish() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (tty_) std::printf("\n");
    bar_.clear();
  }

  static std::string milliseconds(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f ms", seconds * 1000.0);
    return text;
  }

 private:
  static std::string percent(const lazyload::RegistrySnapshot& s) {
    char text[8];
    std::snprintf(text, sizeof text, "%3.0f%%", 100.0 * s.progress);
    return text;
  }

  // "[##########..........]  40%  2/5 loaded  1 failed  loading vision"
  static std::string render(const lazyload::RegistrySnapshot& s) {
    constexpr int kWidth = 30;
    const int done = static_cast<int>(s.progress * kWidth + 0.5);
    std::string text = "[" + std::string(done, '#') +
                       std::string(kWidth - done, '.') + "] " + percent(s);
    char counts[64];
    std::snprintf(counts, sizeof counts, "  %zu/%zu loaded  %zu failed",
                  s.loaded, s.total, s.failed);
    text += counts;
    std::string loading;
    for (const lazyload::EntrySnapshot& e : s.entries) {
      if (e.status == lazyload::Status::loading) {
        loading += (loading.empty() ? "  loading " : ", ") + e.name;
      }
    }
    return text + (loading.empty() && !s.is_loading ? "  done" : loading);
  }

  const bool tty_;
  std::mutex mutex_;
  std::string bar_;                               // guarded by mutex_
  std::map<std::string, lazyload::Status> seen_;  // guarded by mutex_
};

// One request the "service" answers: which plugin serves it, and the call.
struct Request {
  const char* plugin;
  const char* what;
  std::function<std::string()> answer;
};

}  // namespace

int main() {
  Console console(::isatty(STDOUT_FILENO) != 0);
  // The plugins are built next to this program.
  const fs::path dir = fs::read_symlink("/proc/self/exe").parent_path();

  // Register: nothing is opened here. Smaller priorities load first. One
  // background worker: glibc runs library initializers one at a time under
  // its loader lock anyway, and its lock is not fair, so a second worker
  // would only let lower priorities overtake higher ones.
  lazyload::RegistryOptions options;
  options.workers = 1;
  lazyload::LazyRegistry registry(options);
  struct Plugin {
    const char* name;
    std::string library;
    int priority;
  };
  const std::vector<Plugin> plugins = {
      {"tensor", (dir / "libtensor.so").string(), 1},
      {"vision", (dir / "libvision.so").string(), 2},
      {"cv2", "libcv2_missing.so", 2},  // missing on purpose: searched by name
      {"text", (dir / "libtext.so").string(), 3},
      {"audio", (dir / "libaudio.so").string(), 4},
  };
  for (const Plugin& p : plugins) {
    lazyload::EntryOptions entry;
    entry.priority = p.priority;
    registry.add(p.name, lazyload::open_library(p.library), entry);
  }
  auto library = [&](const char* name) -> lazyload::LazyHandle<SharedLibrary>& {
    return registry.handle<SharedLibrary>(name);
  };

  // The functions the service uses; each is resolved on its first call.
  LazySymbol<double(const double*, const double*, int)> dot{library("tensor"),
                                                            "tensor_dot"};
  LazySymbol<int(const unsigned char*, int, int, int)> detect{library("vision"),
                                                              "vision_detect"};
  LazySymbol<int(const char*)> count_words{library("text"), "text_count_words"};
  LazySymbol<double(const float*, int)> rms{library("audio"), "audio_rms"};
  LazySymbol<int(const unsigned char*, int, int)> resize{library("cv2"),
                                                         "cv2_resize"};
  console.line("registered " + std::to_string(registry.size()) +
               " plugins; nothing opened yet");

  const std::vector<Request> requests = {
      {"tensor", "tensor_dot([1 2 3 4], [4 3 2 1])",
       [&] {
         const double a[] = {1, 2, 3, 4};
         const double b[] = {4, 3, 2, 1};
         return std::to_string(static_cast<int>(dot(a, b, 4)));
       }},
      {"text", "text_count_words(\"lazy loading starts fast\")",
       [&] { return std::to_string(count_words("lazy loading starts fast")); }},
      {"vision", "vision_detect(8x8 image, > 200)",
       [&] {
         unsigned char image[64];
         for (int i = 0; i < 64; ++i)
           image[i] = static_cast<unsigned char>(i * 4);
         return std::to_string(detect(image, 8, 8, 200));
       }},
      {"cv2", "cv2_resize(8x8 image)",
       [&] {
         const unsigned char image[64] = {};
         return std::to_string(resize(image, 8, 8));
       }},
      {"audio", "audio_rms(sine, 1000 samples)",
       [&] {
         std::vector<float> sine(1000);
         for (std::size_t i = 0; i < sine.size(); ++i) {
           sine[i] =
               static_cast<float>(std::sin(0.0628 * static_cast<double>(i)));
         }
         char text[16];
         std::snprintf(text, sizeof text, "%.3f",
                       rms(sine.data(), static_cast<int>(sine.size())));
         return std::string(text);
       }},
      {"tensor", "tensor_dot([1 2 3 4], [4 3 2 1])",
       [&] {
         const double a[] = {1, 2, 3, 4};
         const double b[] = {4, 3, 2, 1};
         return std::to_string(static_cast<int>(dot(a, b, 4)));
       }},
  };

  // Load in the background, by priority; returns at once.
  registry.start_background();

  // The service answers a request every 90 ms while the plugins load: a
  // request for a plugin not loaded yet loads it at once, on this thread.
  std::atomic<bool> served{false};
  std::thread service([&] {
    int n = 0;
    for (const Request& r : requests) {
      std::this_thread::sleep_for(std::chrono::milliseconds(90));
      const std::string before(
          lazyload::to_string(registry.entry(r.plugin).status()));
      const Clock::time_point t = Clock::now();
      std::string result;
      try {
        result = "= " + r.answer();
      } catch (const lazyload::LoadError& e) {
        result = std::string("error: ") + e.what();
      }
      const double took =
          std::chrono::duration<double>(Clock::now() - t).count();
      console.line("request " + std::to_string(++n) + " (" + r.plugin +
                   " was " + before + ", " + Console::milliseconds(took) +
                   "): " + r.what + " " + result);
    }
    served = true;
  });

  // The progress bar, until everything has loaded or failed and every
  // request is answered.
  for (;;) {
    const lazyload::RegistrySnapshot s = registry.snapshot();
    console.progress(s);
    if (!s.is_loading && served) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  service.join();
  console.finish();

  // The status table, as the seeds' status endpoint showed it.
  const lazyload::RegistrySnapshot s = registry.snapshot();
  std::printf("\n%-8s %-8s %8s %10s  %s\n", "plugin", "status", "priority",
              "load time", "error");
  for (const lazyload::EntrySnapshot& e : s.entries) {
    std::printf("%-8s %-8s %8d %10s%s%s\n", e.name.c_str(),
                lazyload::to_string(e.status).c_str(), e.priority,
                Console::milliseconds(e.load_time).c_str(),
                e.error.empty() ? "" : "  ", e.error.c_str());
  }
  std::printf("%zu of %zu loaded, %zu failed, in %.2f s\n\n", s.loaded, s.total,
              s.failed, seconds_since_start());

  // The unload rule: a library closes only when no symbol from it can still
  // be called. `dot` is resolved, so unloading "tensor" keeps it mapped
  // until `dot` lets go.
  const fs::path tensor = dir / "libtensor.so";
  registry.unload("tensor");
  std::printf(
      "unload tensor: status %s, still mapped: %s (dot can be called: %d)\n",
      lazyload::to_string(registry.entry("tensor").status()).c_str(),
      is_mapped(tensor) ? "yes" : "no", [&] {
        const double a[] = {1, 2};
        return static_cast<int>(dot(a, a, 2));
      }());
  dot.reset();
  std::printf("dot.reset(): still mapped: %s\n",
              is_mapped(tensor) ? "yes" : "no");
  return 0;
}
