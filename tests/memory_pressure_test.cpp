// Tests for lazyload/memory_pressure.hpp.

#include "lazyload/memory_pressure.hpp"

#include <sys/mman.h>

#include <cstddef>
#include <cstring>

#include "support/catch_compat.hpp"

TEST_CASE("pressure levels have names", "[memory]") {
  CHECK(lazyload::to_string(lazyload::PressureLevel::normal) == "normal");
  CHECK(lazyload::to_string(lazyload::PressureLevel::warning) == "warning");
  CHECK(lazyload::to_string(lazyload::PressureLevel::critical) == "critical");
  CHECK(lazyload::PressureThresholds{}.warning == 0.85);
  CHECK(lazyload::PressureThresholds{}.critical == 0.95);
}

TEST_CASE("process_rss_bytes grows when memory is touched", "[memory]") {
  // Fresh pages from mmap, not the heap: after a test that freed a large
  // heap, malloc would hand out pages that are resident already.
  constexpr std::size_t kSize = 64u << 20;
  void* block = mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(block != MAP_FAILED);
  const std::size_t before = lazyload::process_rss_bytes();
  REQUIRE(before > 0);
  std::memset(block, 1, kSize);
  const std::size_t after = lazyload::process_rss_bytes();
  CHECK(after >= before + kSize / 2);
  CHECK(static_cast<const char*>(block)[kSize - 1] == 1);
  munmap(block, kSize);
}
