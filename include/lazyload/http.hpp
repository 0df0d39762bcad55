// lazyload/http.hpp
//
// A status endpoint for any HTTP server: `respond()` maps a request (method,
// target, body) to a response (status code, content type, body) for the
// routes below, so a program wires it into the server it already has with a
// few lines. Needs nlohmann_json (link `lazyload::json`); no HTTP library.
//
//   GET  /                  a self-contained HTML status page (no external
//                           scripts or fonts) that refreshes every second;
//                           with control on, a LOAD or UNLOAD button per entry
//   GET  /api/status        the status JSON (docs/status-json.md)
//   GET  /metrics           Prometheus text format 0.0.4
//   GET  /api/trace         the load timeline as trace-event JSON, for
//                           ui.perfetto.dev (trace.hpp)
//   GET  /healthz           liveness: 200 while the process serves
//   GET  /readyz            readiness: 200 once every required entry is
//                           loaded, else 503 with what is missing or failed
//   POST /api/load/<name>   control: starts loading the entry in the
//                           background; 202 with its JSON at once (200 if
//                           already loaded). With `?wait=1`, loads and
//                           answers when done: 200 with its JSON, 500 with
//                           the error, or 409 if an unload or a cancel
//                           stopped it
//   POST /api/unload/<name> control: unloads it (cancelling a running
//                           load); 200 with its JSON
//   POST /api/reload/<name> control: loads a new value while the current one
//                           serves and swaps it in; answers when done: 200
//                           with its JSON, or 500 (the old value still
//                           serves)
//   POST /api/cancel/<name> control: asks its running load or reload to
//                           stop; 200 with its JSON, or 409 when nothing
//                           runs
//
// The POST routes change the registry, so they answer 403 unless the caller
// passes `RespondOptions` with `control = true`; the page then shows its
// buttons (LOAD, UNLOAD, RELOAD, CANCEL). Authentication stays with the server that calls respond():
// examples/status_server turns control on only with a bearer token.
//
// Example Usage (cpp-httplib; examples/status_server has the whole program):
//
//   #include <lazyload/http.hpp>
//
//   lazyload::RespondOptions options;  // read-only by default
//   options.control = authorized;      // C++20: {.control = authorized}
//   auto handler = [&](const httplib::Request& req, httplib::Response& res) {
//     const lazyload::HttpResponse r = lazyload::respond(
//         registry, req.method, req.target, req.body, options);
//     res.status = r.status;
//     if (!r.allow.empty()) res.set_header("Allow", r.allow);
//     res.set_content(r.body, r.content_type.c_str());
//   };
//   server.Get(".*", handler);
//   server.Post(".*", handler);
//
// Errors answer JSON `{"error": "lazyload: ..."}`: 404 for an unknown path or
// entry name, 405 (with `allow` set) for a method the path does not take,
// 403 for a POST with control off, 400 for a malformed percent-escape or a
// request target in neither origin form (`/path?query`) nor absolute form
// (`http://host:port/path?query`, which RFC 9112 says a server must accept;
// `https` too, the scheme in any case), 500 when a load fails. `OPTIONS *`
// answers 204 with `allow` set. A body the route does not need is ignored.
// HEAD is answered as GET; the server sends the headers only, as HTTP
// servers do for HEAD.
//
// Rationale:
//
// * A function from request to response, not a server: every C++ HTTP
//   server (cpp-httplib, Boost.Beast, Drogon, Crow, a hand-written one) can
//   call it, and tests call it without sockets.
// * It takes the raw request target, because the name is the rest of the
//   path after /api/load/, percent-decoded here exactly once: `%2F` is a
//   slash in the name, `%20` a space, `%C3%BC` a UTF-8 `ü`, `%FF` the byte
//   0xFF. (cpp-httplib's `req.path` is already decoded; pass `req.target`.)
// * Read-only by default: a status endpoint is often reachable by more
//   people than should unload a model, and respond() cannot know who asks.
// * POST /api/load answers at once and the load runs on the registry's
//   background workers (load_async()), so that many load requests never hold
//   as many server threads, and /healthz keeps answering. `?wait=1` (or
//   `?wait=true`) holds the request until the load is done, for scripts.
// * /healthz and /readyz follow the Kubernetes convention: a process that
//   answers is alive, and it is ready once the entries marked `required` in
//   their EntryOptions are loaded (`snapshot().not_ready` is empty).
// * The page uses relative URLs, so it also works behind a reverse proxy
//   that serves it under a path prefix. It lives, as data only, in
//   detail/status_page.hpp; this header holds the routing.
// * Unlike the other renderers, this header includes registry.hpp: the
//   load and unload routes need the registry itself, not a snapshot.

#ifndef LAZYLOAD_HTTP_HPP_
#define LAZYLOAD_HTTP_HPP_

#include <algorithm>    // std::min
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint8_t
#include <exception>    // std::exception
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <utility>      // std::move, std::pair

#include "detail/status_page.hpp"
#include "detail/throw.hpp"  // quoted
#include "error.hpp"
#include "json.hpp"  // dump_status, and nlohmann through the one header
#include "prometheus.hpp"
#include "registry.hpp"  // load() and unload(), not only the snapshot
#include "snapshot.hpp"
#include "trace.hpp"

namespace lazyload {

// HttpResponse
//
// What respond() answers: give these to the HTTP server.
struct HttpResponse {
  int status = 200;          // the HTTP status code
  std::string content_type;  // the Content-Type header value
  std::string body;
  // For 405: the methods the path takes ("GET, HEAD"), for the Allow header;
  // for `OPTIONS *` (204), the methods of every route. Empty otherwise.
  std::string allow;
};

// RespondOptions
//
// How respond() answers; the default is read-only.
struct RespondOptions {
  // Whether the POST routes may load and unload entries, and the page shows
  // its LOAD and UNLOAD buttons. Off: they answer 403 with a JSON error that
  // says how to turn control on. Turn it on only for callers the server has
  // authenticated.
  bool control = false;
  // What GET /metrics writes; `metrics.per_entry = false` exposes only the
  // registry-wide series, for registries too large to expose entry by entry.
  PrometheusOptions metrics;
};

// respond()
//
// Answers an HTTP request to the status routes of `registry` (see the
// header comment): `method` as sent ("GET"), `target` the request target as
// sent, not decoded: path and optional query ("/api/load/my%20model?x=1";
// the query is ignored), or in absolute form ("http://host/api/status");
// `body` the request body (ignored by every route).
// `options` (read-only by default) says whether the POST routes may change
// the registry. POST /api/load/<name> queues the load and returns at once,
// unless the query asks to wait (`?wait=1`).
// Thread safety: safe to call concurrently, as the registry is.
// Throws: std::bad_alloc only; every other failure is an error response.
// Invalidates: POST /api/unload/<name> invalidates references and pointers
// from get() on that entry, as LazyRegistry::unload() does.
HttpResponse respond(LazyRegistry& registry, std::string_view method,
                     std::string_view target, std::string_view body = {},
                     const RespondOptions& options = {});

// status_page_html()
//
// Returns the page GET / serves, one self-contained HTML document, for
// programs that serve it under another path: read-only by default, with
// LOAD and UNLOAD buttons when `options.control` is set. It fetches
// `api/status` and posts to `api/load/<name>` and `api/unload/<name>`
// relative to its own URL.
// Thread safety: safe to call concurrently. Throws: none.
// Invalidates: none; the view refers to static storage.
std::string_view status_page_html(const RespondOptions& options = {}) noexcept;

// End of public interfaces.
// Implementation details follow.

namespace detail {

inline constexpr const char* kJsonType = "application/json";

// Returns `j` as compact JSON text, valid UTF-8 whatever the names hold.
inline std::string dump_json(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline HttpResponse json_response(int status, const nlohmann::ordered_json& j) {
  HttpResponse r;
  r.status = status;
  r.content_type = kJsonType;
  r.body = dump_json(j);
  r.body += '\n';
  return r;
}

inline HttpResponse error_response(int status, const std::string& message) {
  nlohmann::ordered_json j;
  j["error"] = message;
  return json_response(status, j);
}

// Decodes %XX escapes in `in` into `out`; returns false on a malformed one.
inline bool percent_decode(std::string_view in, std::string& out) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (in.size() - i < 3) return false;
    const int high = hex(in[i + 1]);
    const int low = hex(in[i + 2]);
    if (high < 0 || low < 0) return false;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return true;
}

// Returns whether `a` equals the lower-case ASCII `lower`, ignoring case.
inline bool iequals(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Sets `path` to the path of the request target `target` (RFC 9112, 3.2)
// without its query: the origin form "/p?q" gives "/p", the absolute form
// "http://host:port/p?q" (scheme http or https, in any case) gives "/p", or
// "/" when its path is empty. Returns false for any other form.
inline bool target_path(std::string_view target, std::string_view& path) {
  constexpr std::string_view kEnd = "?#";
  if (!target.empty() && target.front() == '/') {
    path = target.substr(0, target.find_first_of(kEnd));
    return true;
  }
  const std::size_t colon = target.find("://");
  if (colon == std::string_view::npos ||
      !(iequals(target.substr(0, colon), "http") ||
        iequals(target.substr(0, colon), "https"))) {
    return false;
  }
  const std::string_view rest = target.substr(colon + 3);
  const std::size_t host_end = std::min(rest.find_first_of("/?#"), rest.size());
  if (host_end == 0) return false;  // no authority
  path = rest.substr(host_end, rest.find_first_of(kEnd, host_end) - host_end);
  if (path.empty()) path = "/";
  return true;
}

// Returns the entry's JSON, read now from that entry alone.
inline nlohmann::ordered_json entry_json(const LazyRegistry& registry,
                                         const std::string& name) {
  return registry.snapshot(name);
}

// Whether the query of `target` asks to wait: `wait`, `wait=1` or
// `wait=true` among its `&`-separated parameters.
inline bool wants_wait(std::string_view target) {
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return false;
  std::string_view query = target.substr(question + 1);
  query = query.substr(0, query.find('#'));
  for (;;) {
    const std::size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    if (param == "wait" || param == "wait=1" || param == "wait=true") {
      return true;
    }
    if (amp == std::string_view::npos) return false;
    query.remove_prefix(amp + 1);
  }
}

// The 403 of a POST route with control off.
inline HttpResponse control_off(std::string_view path) {
  return error_response(
      403, "lazyload: control is off, so POST " + quoted(std::string(path)) +
               " is refused; to allow it, pass respond() a RespondOptions "
               "with control = true (C++20: RespondOptions{.control = true}; "
               "C++17: RespondOptions options; options.control = true;)");
}

// POST /api/load/<name>: queues the load and answers 202, or 200 when the
// entry is loaded; with `wait`, loads on this thread and answers 200 or 500.
inline HttpResponse load_entry(LazyRegistry& registry, const std::string& name,
                               bool wait) {
  if (wait) {
    registry.load(name);
    return json_response(200, entry_json(registry, name));
  }
  if (registry.entry(name).is_loaded()) {
    return json_response(200, entry_json(registry, name));
  }
  // The future is not needed: the entry's status says how the load goes.
  registry.load_async(name);
  return json_response(202, entry_json(registry, name));
}

// The answer of a POST route whose load failed: the error and the entry.
inline HttpResponse failed_entry(LazyRegistry& registry,
                                 const std::string& name, int status,
                                 const std::exception& e) {
  nlohmann::ordered_json j;
  j["error"] = e.what();
  j["entry"] = entry_json(registry, name);
  return json_response(status, j);
}

// What a POST route does to its entry.
enum class Action : std::uint8_t { load, unload, reload, cancel };

// POST /api/cancel/<name>: 200 if a load or reload was running, else 409.
inline HttpResponse cancel_entry(LazyRegistry& registry,
                                 const std::string& name) {
  if (registry.cancel(name)) {
    return json_response(200, entry_json(registry, name));
  }
  nlohmann::ordered_json j;
  j["error"] = "lazyload: nothing to cancel: " + detail::quoted(name) +
               " is neither loading nor reloading";
  j["entry"] = entry_json(registry, name);
  return json_response(409, j);
}

// The POST routes, with control on.
inline HttpResponse control_route(LazyRegistry& registry, Action action,
                                  std::string_view encoded, bool wait) {
  std::string name;
  if (!percent_decode(encoded, name)) {
    return error_response(400, "lazyload: bad percent-encoding in " +
                                   quoted(std::string(encoded)));
  }
  if (!registry.contains(name)) {
    return error_response(404, "lazyload: resource " + detail::quoted(name) +
                                   " is not registered");
  }
  try {
    switch (action) {
    case Action::load:
      return load_entry(registry, name, wait);
    case Action::unload:
      registry.unload(name);
      break;
    case Action::reload:
      registry.reload(name);
      break;
    case Action::cancel:
      return cancel_entry(registry, name);
    }
  } catch (const LoadCancelled& e) {
    // Stopped by another request (unload, cancel): a conflict, not a
    // failure of the server or the loader.
    return failed_entry(registry, name, 409, e);
  } catch (const std::exception& e) {
    return failed_entry(registry, name, 500, e);
  }
  return json_response(200, entry_json(registry, name));
}

// GET /readyz. The 503 body is written directly (detail::JsonText), as
// dump_status() is: a tree of every missing entry, at 100,000 of them, only
// to print it cost twice as much per entry as at 1,000.
inline HttpResponse readiness(const LazyRegistry& registry) {
  const RegistrySnapshot snapshot = registry.snapshot();
  HttpResponse r;
  r.status = snapshot.not_ready.empty() ? 200 : 503;
  r.content_type = kJsonType;
  std::string& out = r.body;
  JsonText text(out, -1);
  text.begin_object();
  text.plain_key("ready");
  text.boolean(snapshot.not_ready.empty());
  text.plain_key("not_ready");
  text.begin_array();
  for (const std::string& name : snapshot.not_ready) {
    text.item();
    text.string(name);
  }
  text.end_array();
  if (!snapshot.not_ready.empty()) {
    text.plain_key("entries");
    text.begin_object();
    JsonTextFields fields(text, false);
    for (const EntrySnapshot& e : snapshot.entries) {
      if (e.required && e.status != Status::loaded) {
        text.key(e.name);
        text.begin_object();
        for_each_entry_field(e, fields);
        text.end_object();
      }
    }
    text.end_object();
  }
  text.end_object();
  out += '\n';
  return r;
}

// GET routes; `path` is one of them.
inline HttpResponse get_route(LazyRegistry& registry, std::string_view path,
                              const RespondOptions& options) {
  HttpResponse r;
  if (path == "/") {
    r.content_type = "text/html; charset=utf-8";
    r.body = status_page_html(options);
  } else if (path == "/api/status") {
    r.content_type = kJsonType;
    r.body = dump_status(registry);
    r.body += '\n';
  } else if (path == "/metrics") {
    r.content_type = std::string(kPrometheusContentType);
    r.body = to_prometheus(registry, options.metrics);
  } else if (path == "/api/trace") {
    r.content_type = kJsonType;
    r.body = to_trace_json(registry);
  } else if (path == "/healthz") {
    r.content_type = "text/plain; charset=utf-8";
    r.body = "ok\n";
  } else {
    r = readiness(registry);
  }
  return r;
}

// The action of a POST route and the still-encoded name after its prefix,
// or nothing when `path` is not one.
inline std::optional<std::pair<Action, std::string_view>> control_path(
    std::string_view path) {
  constexpr std::pair<std::string_view, Action> kRoutes[] = {
      {"/api/load/", Action::load},
      {"/api/unload/", Action::unload},
      {"/api/reload/", Action::reload},
      {"/api/cancel/", Action::cancel}};
  for (const auto& [prefix, action] : kRoutes) {
    if (path.substr(0, prefix.size()) == prefix) {
      return std::make_pair(action, path.substr(prefix.size()));
    }
  }
  return std::nullopt;
}

inline HttpResponse method_not_allowed(std::string_view method,
                                       std::string_view path,
                                       const char* allow) {
  HttpResponse r = error_response(
      405, "lazyload: method " + quoted(std::string(method)) +
               " is not allowed for " + quoted(std::string(path)));
  r.allow = allow;
  return r;
}

}  // namespace detail

inline HttpResponse respond(LazyRegistry& registry, std::string_view method,
                            std::string_view target, std::string_view /*body*/,
                            const RespondOptions& options) {
  using detail::quoted;
  std::string_view path;
  if (!detail::target_path(target, path)) {
    if (target == "*" && method == "OPTIONS") {
      HttpResponse r;
      r.status = 204;
      r.allow = "GET, HEAD, POST";
      return r;
    }
    return detail::error_response(
        400, "lazyload: bad request target " + quoted(std::string(target)));
  }
  if (const auto route = detail::control_path(path)) {
    if (method != "POST") {
      return detail::method_not_allowed(method, path, "POST");
    }
    if (!options.control) return detail::control_off(path);
    return detail::control_route(registry, route->first, route->second,
                                 detail::wants_wait(target));
  }
  if (path == "/" || path == "/api/status" || path == "/metrics" ||
      path == "/api/trace" || path == "/healthz" || path == "/readyz") {
    if (method != "GET" && method != "HEAD") {
      return detail::method_not_allowed(method, path, "GET, HEAD");
    }
    return detail::get_route(registry, path, options);
  }
  return detail::error_response(
      404, "lazyload: no route for " + quoted(std::string(path)));
}

inline std::string_view status_page_html(
    const RespondOptions& options) noexcept {
  return options.control ? detail::kControlStatusPage : detail::kStatusPage;
}

}  // namespace lazyload

#endif  // LAZYLOAD_HTTP_HPP_
