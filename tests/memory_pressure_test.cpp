// Tests for lazyload/memory_pressure.hpp.

#include "lazyload/memory_pressure.hpp"

#include <cstring>
#include <memory>

#include "support/catch_compat.hpp"

TEST_CASE("pressure levels have names", "[memory]") {
  CHECK(lazyload::to_string(lazyload::PressureLevel::normal) == "normal");
  CHECK(lazyload::to_string(lazyload::PressureLevel::warning) == "warning");
  CHECK(lazyload::to_string(lazyload::PressureLevel::critical) == "critical");
  CHECK(lazyload::PressureThresholds{}.warning == 0.85);
  CHECK(lazyload::PressureThresholds{}.critical == 0.95);
}

TEST_CASE("process_rss_bytes grows when memory is touched", "[memory]") {
  const std::size_t before = lazyload::process_rss_bytes();
  REQUIRE(before > 0);
  constexpr std::size_t kSize = 64u << 20;
  std::unique_ptr<char[]> block(new char[kSize]);
  std::memset(block.get(), 1, kSize);
  const std::size_t after = lazyload::process_rss_bytes();
  CHECK(after >= before + kSize / 2);
  CHECK(block[kSize - 1] == 1);
}
