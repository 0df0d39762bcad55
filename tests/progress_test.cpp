// Tests for lazyload/progress.hpp.

#include "lazyload/progress.hpp"

#include <cmath>
#include <string>
#include <thread>

#include "support/catch_compat.hpp"

TEST_CASE("report records the fraction and the stage", "[progress]") {
  lazyload::Progress p;
  CHECK(p.fraction() == 0.0);
  CHECK(p.stage().empty());
  p.report(0.25, "cuda_init");
  CHECK(p.fraction() == Approx(0.25));
  CHECK(p.stage() == "cuda_init");
  p.report(0.5);  // an empty stage keeps the last one
  CHECK(p.stage() == "cuda_init");
}

TEST_CASE("report clamps the fraction and ignores NaN", "[progress]") {
  lazyload::Progress p;
  p.report(1.5);
  CHECK(p.fraction() == 1.0);
  p.report(-2.0);
  CHECK(p.fraction() == 0.0);
  p.report(0.4);
  p.report(std::nan(""));
  CHECK(p.fraction() == Approx(0.4));
}

TEST_CASE("set_size records the reported size", "[progress]") {
  lazyload::Progress p;
  CHECK(p.size_bytes() == 0);
  p.set_size(1234);
  CHECK(p.size_bytes() == 1234);
}

TEST_CASE("progress is readable while another thread reports", "[progress]") {
  lazyload::Progress p;
  std::thread writer([&] {
    for (int i = 0; i <= 1000; ++i) {
      p.report(i / 1000.0, i % 2 ? "odd" : "even");
    }
  });
  for (int i = 0; i < 1000; ++i) {
    const double f = p.fraction();
    CHECK((f >= 0.0 && f <= 1.0));
    const std::string s = p.stage();
    CHECK((s.empty() || s == "odd" || s == "even"));
  }
  writer.join();
  CHECK(p.fraction() == 1.0);
}
