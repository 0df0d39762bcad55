// http_fuzz: libFuzzer harness for lazyload::respond() (http.hpp).
//
// Reads its input as lines, one request per line, "METHOD TARGET BODY"
// (split at the first two spaces; the target and body may hold any bytes),
// with control on when the line starts with '+' (RespondOptions), and
// answers each with respond() on a small registry whose names need escaping:
// a space, a slash, a percent sign, non-ASCII UTF-8, a newline.
// Checks every response: a known status code, a content type, JSON bodies
// that parse (so valid UTF-8), an Allow value with 405, and the page with
// GET /. The sanitizers it is built with (ASan, UBSan) catch the rest.
//
//   cmake -B build/fuzz -DCMAKE_CXX_COMPILER=clang++ \
//         -DLAZYLOAD_BUILD_FUZZERS=ON \
//         "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined"
//   cmake --build build/fuzz --target lazyload_http_fuzz
//   mkdir -p /tmp/http-corpus && build/fuzz/tests/lazyload_http_fuzz \
//       -max_total_time=600 /tmp/http-corpus tests/fuzz/http_corpus

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <lazyload/http.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void fail(const std::string& what, std::string_view method,
                       std::string_view target,
                       const lazyload::HttpResponse& r) {
  std::fprintf(stderr,
               "http_fuzz: %s\nrequest: '%.*s' '%.*s'\nstatus %d, %s\n%s\n",
               what.c_str(), static_cast<int>(method.size()), method.data(),
               static_cast<int>(target.size()), target.data(), r.status,
               r.content_type.c_str(), r.body.c_str());
  std::abort();
}

void add_entries(lazyload::LazyRegistry& registry) {
  lazyload::EntryOptions required;
  required.required = true;
  registry.add("model", [] { return 1; });
  registry.add(
      "my model", [] { return 2; }, required);
  registry.add("a/b", [] { return 3; });
  registry.add("100%", [] { return 4; });
  registry.add("\xC3\xBCn\xC3\xAF", [] { return 5; });  // ünï
  registry.add("new\nline", [] { return 6; });
  registry.add("db", []() -> int {
    throw std::runtime_error("refused \xFF");  // not UTF-8 in the message
  });
}

void check(std::string_view method, std::string_view target,
           const lazyload::HttpResponse& r) {
  static const std::set<int> kStatuses = {200, 202, 204, 400, 403,
                                          404, 405, 500, 503};
  if (kStatuses.count(r.status) == 0)
    fail("unexpected status", method, target, r);
  if (r.status == 204) {
    if (!r.body.empty()) fail("204 with a body", method, target, r);
    return;
  }
  if (r.content_type.empty()) fail("no content type", method, target, r);
  if (r.status == 405 && r.allow.empty()) {
    fail("405 without Allow", method, target, r);
  }
  if (r.status != 405 && r.status != 204 && !r.allow.empty()) {
    fail("Allow without 405", method, target, r);
  }
  if (r.content_type == "application/json") {
    const nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded()) fail("the body is not valid JSON", method, target, r);
    if (r.status >= 400 && r.status != 503 &&
        !(j.is_object() && j.contains("error") && j.at("error").is_string())) {
      fail("an error without an error message", method, target, r);
    }
  } else if (r.content_type.rfind("text/html", 0) == 0) {
    if (r.body.rfind("<!doctype html>", 0) != 0) {
      fail("the page is not the page", method, target, r);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  lazyload::RegistryOptions options;
  options.workers = 1;
  lazyload::LazyRegistry registry(options);
  add_entries(registry);
  std::size_t start = 0;
  for (int n = 0; n < 32 && start < input.size(); ++n) {
    std::size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    std::string_view line = input.substr(start, end - start);
    start = end + 1;
    lazyload::RespondOptions options;
    options.control = !line.empty() && line.front() == '+';
    if (options.control) line.remove_prefix(1);
    const std::size_t space = line.find(' ');
    const std::string_view method = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view()
                                           : line.substr(space + 1);
    const std::size_t space2 = line.find(' ');
    const std::string_view target = line.substr(0, space2);
    const std::string_view body = space2 == std::string_view::npos
                                      ? std::string_view()
                                      : line.substr(space2 + 1);
    check(method, target,
          lazyload::respond(registry, method, target, body, options));
  }
  return 0;
}
