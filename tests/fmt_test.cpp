// Tests for lazyload/fmt.hpp: fmt::formatter for Status and RegistrySnapshot.

#include "lazyload/fmt.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include "support/catch_compat.hpp"
#include "support/scenario.hpp"
#include "support/snapshot_fixture.hpp"

using lazyload::EntrySnapshot;
using lazyload::RegistrySnapshot;
using lazyload::Status;
using lazyload_test::fixed_snapshot;
using lazyload_test::Scenario;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("a status formats as its word", "[fmt]") {
  CHECK(fmt::format("{}", Status::unloaded) == "unloaded");
  CHECK(fmt::format("{}", Status::queued) == "queued");
  CHECK(fmt::format("{}", Status::loading) == "loading");
  CHECK(fmt::format("{}", Status::loaded) == "loaded");
  CHECK(fmt::format("{}", Status::failed) == "failed");
}

TEST_CASE("a status takes the width, fill and alignment of a string", "[fmt]") {
  CHECK(fmt::format("{:>8}|", Status::loaded) == "  loaded|");
  CHECK(fmt::format("{:<8}|", Status::failed) == "failed  |");
  CHECK(fmt::format("{:*^10}", Status::queued) == "**queued**");
  CHECK_THROWS_AS(fmt::format(fmt::runtime("{:d}"), Status::loaded),
                  fmt::format_error);
}

TEST_CASE("a snapshot formats as an aligned table with a summary line",
          "[fmt]") {
  CHECK(fmt::format("{}", fixed_snapshot()) ==
        "NAME   STATUS    PRIORITY  LOAD TIME  PROGRESS         SIZE  DET"
        "AILS                                                            "
        "                                                                "
        "                                                                "
        "                      ERROR\n"
        "torch  loaded           1    5.804 s  100% ready   64.0 MiB  typ"
        "e=Model loads=2 failures=1 evictions=3 uses=5 depends_on=lazy ev"
        "ictable required last_loaded_at=2025-11-25T04:35:02.123Z first_l"
        "oad=2 reloading reload_progress=50% retries=1 next_retry_at=2025"
        "-11-25T04:35:03.412Z  lazyload: loading 'torch' failed: out of m"
        "emory\n"
        "\xE6\xA8\xA1\xE5\x9E\x8B   loading          2          -  40% we"
        "ights     512 B  type=int\n"
        "d\\nb   failed         100     300 us  25%                 -  ty"
        "pe=int failures=1 required                                      "
        "                                                                "
        "                                                                "
        "                       lazyload: loading 'd\\nb' failed: refused"
        "\n"
        "lazy   unloaded       100   211.1 ms  -                   -  typ"
        "e=int loads=1 uses=1 first_load=1\n"
        "4 entries: 1 loaded, 1 loading, 0 queued, 1 failed, 1 unloaded ("
        "25.0%); 64.0 MiB loaded of 1.5 GiB budget (4 over); not ready: '"
        "d\\nb'; is_loading pressure=warning rss_bytes=200.0 MiB");
}

TEST_CASE("an empty snapshot formats as a header and a summary", "[fmt]") {
  CHECK(fmt::format("{}", RegistrySnapshot{}) ==
        "NAME  STATUS  PRIORITY  LOAD TIME  PROGRESS  SIZE  DETAILS  ERROR\n"
        "0 entries: 0 loaded, 0 loading, 0 queued, 0 failed, 0 unloaded "
        "(0.0%); 0 B loaded; ready");
}

TEST_CASE("every field of the list is in the table", "[fmt]") {
  const std::vector<std::string> lines =
      lines_of(fmt::format("{}", fixed_snapshot()));
  const std::string& torch = lines.at(1);  // every field set
  const std::string& summary = lines.back();
  const auto has = [](const auto& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (const std::string& name : lazyload_test::entry_field_names()) {
    INFO("entry field: " << name);
    CHECK((has(lazyload::detail::kColumnFields, name) ||
           torch.find(" " + name) != std::string::npos));
  }
  for (const std::string& name : lazyload_test::registry_field_names()) {
    INFO("registry field: " << name);
    CHECK((has(lazyload::detail::kSummaryFields, name) ||
           summary.find(" " + name) != std::string::npos));
  }
  // The columns and the prose name only fields of the list.
  for (const std::string_view name : lazyload::detail::kColumnFields) {
    CHECK(has(lazyload_test::entry_field_names(), std::string(name)));
  }
  for (const std::string_view name : lazyload::detail::kSummaryFields) {
    CHECK(has(lazyload_test::registry_field_names(), std::string(name)));
  }
}

TEST_CASE("awkward names and errors cannot break the table's lines", "[fmt]") {
  Scenario scenario;
  const std::string table = fmt::format("{}", scenario.registry().snapshot());
  const std::vector<std::string> lines = lines_of(table);
  REQUIRE(lines.size() == 7 + 2);
  CHECK(table.find('\x01') == std::string::npos);
  CHECK(table.find("\nnew\\nline\\ttab\\x01   failed") != std::string::npos);
  CHECK(table.find("weights.bin: no such file\\n\"second\" line \\ end") !=
        std::string::npos);
  // Every row's STATUS starts where the header's does.
  const std::size_t column = lines[0].find("STATUS");
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
    const std::string& line = lines[i];
    // Count display columns up to the status word: the names here are
    // narrow, so one column per code point.
    std::size_t at = std::string::npos;
    for (const char* word :
         {"  loaded", "  failed", "  loading", "  queued", "  unloaded"}) {
      at = std::min(at, line.find(word));
    }
    REQUIRE(at != std::string::npos);
    std::size_t code_points = 0;
    for (std::size_t b = 0; b < at + 2; ++b) {
      if ((static_cast<unsigned char>(line[b]) & 0xC0U) != 0x80U) ++code_points;
    }
    // The unicode name has two wide characters (模型), which fmt counts as 2.
    const bool wide = line.find("\xE6\xA8\xA1") < at;  // in the name
    CHECK(code_points + (wide ? 2 : 0) == column);
  }
  // The summary ends in the process's resident set size, whatever it is.
  CHECK(lines.back().rfind(
            "7 entries: 2 loaded, 1 loading, 1 queued, 1 failed, 2 unloaded "
            "(28.6%); 64.0 MiB loaded of 1.0 GiB budget; not ready: "
            "'new\\nline\\ttab\\x01', 'never loaded'; "
            "is_loading",
            0) == 0);
}

TEST_CASE("a snapshot refuses a format spec", "[fmt]") {
  CHECK_THROWS_WITH_AS(
      fmt::format(fmt::runtime("{:>10}"), RegistrySnapshot{}),
      "lazyload: a registry snapshot takes no format spec, use '{}'",
      fmt::format_error);
}
