// A program that uses lazyload the way a user's would.
#include <cstdio>
#include <lazyload/lazyload.hpp>
#include <memory>
#include <string>

int main() {
  lazyload::LazyHandle greeting{
      "greeting",
      [] { return std::make_unique<std::string>("hello from lazyload"); }};
  if (greeting.is_loaded()) return 1;  // nothing loads before first use
  std::printf("%s\n", greeting->c_str());
  return greeting.status() == lazyload::Status::loaded ? 0 : 1;
}
