// Tests for lazyload/status.hpp.

#include "lazyload/status.hpp"

#include <set>
#include <string_view>

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
