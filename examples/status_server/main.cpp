// status_server: lazyload's status page, JSON, Prometheus metrics and
// readiness probe, served with cpp-httplib over a registry of slow-loading
// entries (one of which fails, two of which are required for readiness).
//
//   status_server [--bind ADDRESS] [--port PORT] [--no-background]
//                 [--time-scale FACTOR] [--control-token TOKEN]
//
//   --bind ADDRESS      address to listen on (default 127.0.0.1, loopback)
//   --port PORT         port to listen on (default 8080; 0 picks a free one)
//   --no-background     do not start loading in the background: every entry
//                       stays unloaded until asked for (LOAD on the page)
//   --time-scale FACTOR multiplies every loader's delay (default 1)
//   --control-token TOKEN
//                       allows LOAD and UNLOAD (the POST routes, and the
//                       page's buttons) to requests that carry the header
//                       `Authorization: Bearer TOKEN`; a POST without it
//                       answers 401. Without this option the server is
//                       read-only: every POST answers 403.
//
// Prints `status_server: serving http://ADDRESS:PORT/` once it listens, one
// line per status change, and the status table when it stops. SIGINT
// (Ctrl-C) and SIGTERM stop it cleanly and promptly: running loads are
// cancelled (the loaders check Progress::stop_requested()), the server stops
// accepting, the registry is destroyed, and it exits with status 0, well
// within a Kubernetes grace period even in the middle of a long load.
//
// The handler is the whole integration: every route goes to
// lazyload::respond() with the raw request target (cpp-httplib's req.path
// is already percent-decoded; respond() decodes names itself), and with
// control on only for a request that carries the token. A load request
// answers at once (the load runs on the registry's workers), so many of them
// never hold the server's threads, and /healthz keeps answering.

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <lazyload/fmt.hpp>
#include <lazyload/http.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// A stand-in for a heavy resource; named, because the status shows its type.
namespace demo {
struct Resource {
  std::string what;
};
}  // namespace demo

namespace {

using namespace std::chrono_literals;
using demo::Resource;

struct Options {
  std::string bind = "127.0.0.1";
  int port = 8080;
  bool background = true;
  double time_scale = 1.0;
  std::string control_token;  // empty: read-only
};

[[noreturn]] void usage(const char* problem) {
  std::fprintf(stderr,
               "status_server: %s\n"
               "usage: status_server [--bind ADDRESS] [--port PORT] "
               "[--no-background] [--time-scale FACTOR] "
               "[--control-token TOKEN]\n",
               problem);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
      return argv[++i];
    };
    try {
      if (arg == "--bind") {
        o.bind = value();
      } else if (arg == "--port") {
        o.port = std::stoi(value());
        if (o.port < 0 || o.port > 65535) usage("the port must be 0 to 65535");
      } else if (arg == "--no-background") {
        o.background = false;
      } else if (arg == "--control-token") {
        o.control_token = value();
        if (o.control_token.empty()) usage("the control token is empty");
      } else if (arg == "--time-scale") {
        o.time_scale = std::stod(value());
        if (!(o.time_scale >= 0.0)) usage("the time scale must be >= 0");
      } else {
        usage(("unknown argument '" + arg + "'").c_str());
      }
    } catch (const std::logic_error&) {  // std::stoi, std::stod
      usage(("not a number after " + arg).c_str());
    }
  }
  return o;
}

// A loader that takes `seconds` (scaled) through `stages`, reporting
// progress, and declares `bytes` as the value's size.
auto slow_loader(double seconds, std::vector<std::string> stages,
                 std::size_t bytes, double scale) {
  return [=](lazyload::Progress& progress) {
    const auto step = std::chrono::duration<double>(
        seconds * scale / static_cast<double>(stages.size()));
    for (std::size_t i = 0; i < stages.size(); ++i) {
      const double done = static_cast<double>(i);
      progress.report(done / static_cast<double>(stages.size()), stages[i]);
      // Sleeps in slices, giving up as soon as a stop is requested: cancel,
      // unload, or the registry's destruction on SIGTERM.
      const auto until = std::chrono::steady_clock::now() + step;
      while (std::chrono::steady_clock::now() < until) {
        progress.throw_if_stop_requested();
        std::this_thread::sleep_for(10ms);
      }
    }
    progress.report(1.0, "ready");
    progress.set_size(bytes);
    return std::make_unique<Resource>(Resource{stages.back()});
  };
}

void add_entries(lazyload::LazyRegistry& registry, double scale) {
  constexpr std::size_t kMiB = 1024 * 1024;
  lazyload::EntryOptions config;
  config.priority = 1;
  config.required = true;
  registry.add("config", slow_loader(0.2, {"read", "parse"}, 16 * 1024, scale),
               config);

  lazyload::EntryOptions torch;
  torch.priority = 1;
  torch.required = true;
  torch.depends_on = {"config"};
  registry.add(
      "torch",
      slow_loader(0.8, {"cuda_init", "kernels", "weights"}, 512 * kMiB, scale),
      torch);

  lazyload::EntryOptions tokenizer;
  tokenizer.priority = 2;
  registry.add("tokenizer",
               slow_loader(0.4, {"vocabulary", "merges"}, 24 * kMiB, scale),
               tokenizer);

  lazyload::EntryOptions bert;
  bert.priority = 2;
  bert.depends_on = {"torch", "tokenizer"};
  bert.evictable = true;
  registry.add("bert",
               slow_loader(1.5, {"architecture", "weights", "optimization"},
                           1300 * kMiB, scale),
               bert);

  lazyload::EntryOptions plugin;
  plugin.priority = 3;
  const auto fails =
      [scale](lazyload::Progress& progress) -> std::unique_ptr<Resource> {
    progress.report(0.3, "dlopen");
    std::this_thread::sleep_for(std::chrono::duration<double>(0.3 * scale));
    throw std::runtime_error(
        "libtesseract.so.5: cannot open shared object file");
  };
  registry.add("plugin/ocr", fails, plugin);

  lazyload::EntryOptions ranker;
  ranker.priority = 4;
  ranker.size_bytes = 96 * kMiB;
  registry.add("r\xC3\xA9sum\xC3\xA9 ranker",  // "résumé ranker"
               slow_loader(0.5, {"index", "model"}, 96 * kMiB, scale), ranker);
}

// Whether `a` (what the client sent) equals `b` (the token), in a time that
// depends only on the token's length, not on where they first differ, so
// that the answer's timing does not tell how much of a guess is right.
bool same_token(const std::string& a, const std::string& b) {
  unsigned difference = a.size() == b.size() ? 0U : 1U;
  for (std::size_t i = 0; i < b.size(); ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    difference |= static_cast<unsigned>(x ^ static_cast<unsigned char>(b[i]));
  }
  return difference == 0;
}

// Whether `req` carries `Authorization: Bearer <token>`.
bool authorized(const httplib::Request& req, const std::string& token) {
  if (token.empty()) return false;
  const std::string header = req.get_header_value("Authorization");
  const std::string scheme = "Bearer ";
  return header.size() > scheme.size() &&
         header.compare(0, scheme.size(), scheme) == 0 &&
         same_token(header.substr(scheme.size()), token);
}

lazyload::RegistryOptions registry_options() {
  lazyload::RegistryOptions o;
  o.workers = 2;
  o.memory_budget = 2048ULL * 1024 * 1024;
  o.on_change = [](const lazyload::StatusChange& c) {
    if (c.to == lazyload::Status::loaded || c.to == lazyload::Status::failed) {
      const double seconds = std::chrono::duration<double>(c.duration).count();
      fmt::print("status_server: '{}' {} -> {} in {:.2f} s{}{}\n", c.name,
                 c.from, c.to, seconds, c.error.empty() ? "" : ": ", c.error);
    } else {
      fmt::print("status_server: '{}' {} -> {}\n", c.name, c.from, c.to);
    }
    std::fflush(stdout);
  };
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);

  // SIGINT and SIGTERM are received by one thread with sigwait(), which can
  // stop the server safely (a signal handler could not). Blocked here, before
  // any thread starts, so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  lazyload::LazyRegistry registry(registry_options());
  add_entries(registry, options.time_scale);

  httplib::Server server;
  server.set_keep_alive_timeout(1);  // idle connections do not delay a stop
  const auto handler = [&registry, &options](const httplib::Request& req,
                                             httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    lazyload::RespondOptions respond_options;  // read-only by default
    respond_options.control = authorized(req, options.control_token);
    if (req.method == "POST" && !options.control_token.empty() &&
        !respond_options.control) {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Bearer");
      res.set_content(
          "{\"error\":\"status_server: a POST needs the header "
          "Authorization: Bearer <the --control-token>\"}\n",
          "application/json");
      return;
    }
    const lazyload::HttpResponse r = lazyload::respond(
        registry, req.method, req.target, req.body, respond_options);
    res.status = r.status;
    if (!r.allow.empty()) res.set_header("Allow", r.allow);
    res.set_content(r.body, r.content_type.c_str());
  };
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Delete(".*", handler);
  server.Patch(".*", handler);
  server.Options(".*", handler);

  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.bind);
  } else if (!server.bind_to_port(options.bind, port)) {
    port = -1;
  }
  if (port < 0) {
    std::fprintf(stderr, "status_server: cannot listen on %s:%d\n",
                 options.bind.c_str(), options.port);
    return 1;
  }

  std::atomic<bool> listening{true};
  std::atomic<int> received{0};
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    received = sig;
    // Running loads first: a request waiting on one (?wait=1) then returns,
    // so stopping the server does not wait for the load.
    for (const std::string& name : registry.names()) registry.cancel(name);
    // stop() is ignored before listen_after_bind() has started: repeat it.
    while (listening) {
      server.stop();
      std::this_thread::sleep_for(10ms);
    }
  });

  fmt::print(
      "status_server: serving http://{}:{}/ ({}; Ctrl-C to stop)\n",
      options.bind, port,
      options.control_token.empty() ? "read-only" : "control with the token");
  std::fflush(stdout);
  if (options.background) registry.start_background();

  const bool served = server.listen_after_bind();
  listening = false;
  const int sig = received.load();
  if (sig == 0) kill(getpid(), SIGTERM);  // the server failed: wake the stopper
  stopper.join();

  fmt::print("status_server: stopped ({})\n{}\n",
             sig == SIGINT    ? "SIGINT"
             : sig == SIGTERM ? "SIGTERM"
                              : "error",
             registry.snapshot());
  std::fflush(stdout);
  return served && sig != 0 ? 0 : 1;
}
