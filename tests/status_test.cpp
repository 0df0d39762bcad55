// Tests for lazyload/status.hpp.

#include "lazyload/status.hpp"

#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "lazyload/memory_pressure.hpp"
#include "support/catch_compat.hpp"

using lazyload::Status;

TEST_CASE("to_string returns exactly the five status words", "[status]") {
  CHECK(lazyload::to_string(Status::unloaded) == "unloaded");
  CHECK(lazyload::to_string(Status::queued) == "queued");
  CHECK(lazyload::to_string(Status::loading) == "loading");
  CHECK(lazyload::to_string(Status::loaded) == "loaded");
  CHECK(lazyload::to_string(Status::failed) == "failed");
  STATIC_REQUIRE(lazyload::to_string(Status::loaded) == "loaded");
}

TEST_CASE("kAllStatuses lists every status once, in order", "[status]") {
  std::set<std::string_view> words;
  for (Status s : lazyload::kAllStatuses) words.insert(lazyload::to_string(s));
  CHECK(words.size() == 5);
  CHECK(lazyload::kAllStatuses.front() == Status::unloaded);
  CHECK(lazyload::kAllStatuses.back() == Status::failed);
}

TEST_CASE("a status and a pressure level print their names on a stream",
          "[status]") {
  std::ostringstream out;
  out << lazyload::Status::loaded << ' ' << lazyload::Status::failed << ' '
      << lazyload::PressureLevel::warning;
  CHECK(out.str() == "loaded failed warning");
}

TEST_CASE("to_string gives a C string where one is needed", "[status]") {
  char text[32];
  std::snprintf(text, sizeof text, "[%s]",
                lazyload::to_string(lazyload::Status::queued).c_str());
  CHECK(std::string(text) == "[queued]");
  CHECK(lazyload::to_string(lazyload::Status::queued) == "queued");
}
