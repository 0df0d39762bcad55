// A program that uses every component of the package: lazyload::json,
// lazyload::fmt and lazyload::library.
#include <fmt/core.h>

#include <lazyload/fmt.hpp>
#include <lazyload/json.hpp>
#include <lazyload/lazyload.hpp>
#include <lazyload/library.hpp>
#include <string>

int main() {
  lazyload::LazyRegistry registry;
  registry.add("greeting", [] { return std::string("hello"); });
  registry.load("greeting");
  const std::string json = lazyload::dump_status(registry);
  const std::string status = fmt::format("{}", lazyload::Status::loaded);
  lazyload::LazyLibrary libm{"libm.so.6"};
  lazyload::LazySymbol<double(double)> cosine{libm, "cos"};
  fmt::print("{}\nstatus: {}, cos(0) = {}\n", json, status, cosine(0.0));
  const bool ok = json.find("\"greeting\"") != std::string::npos &&
                  status == "loaded" && cosine(0.0) == 1.0;
  return ok ? 0 : 1;
}
