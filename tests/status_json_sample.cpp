// Prints the status document of the test scenario (an entry in each of the
// five statuses, with awkward names) for tests/check_status_schema.py, which
// validates it against docs/status.schema.json.

#include <cstdio>
#include <exception>
#include <string>

#include "lazyload/json.hpp"
#include "support/scenario.hpp"

int main() {
  try {
    lazyload_test::Scenario scenario;
    const std::string text = lazyload::dump_status(scenario.registry(), 2);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "status_json_sample: %s\n", e.what());
    return 1;
  }
}
