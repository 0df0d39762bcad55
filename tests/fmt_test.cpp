// Tests for lazyload/fmt.hpp: fmt::formatter for Status and RegistrySnapshot.

#include "lazyload/fmt.hpp"

#include <chrono>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include "support/catch_compat.hpp"
#include "support/scenario.hpp"

using lazyload::EntrySnapshot;
using lazyload::RegistrySnapshot;
using lazyload::Status;
using lazyload_test::Scenario;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

EntrySnapshot entry(std::string name, Status status) {
  EntrySnapshot e;
  e.name = std::move(name);
  e.status = status;
  return e;
}

RegistrySnapshot fixed_snapshot() {
  RegistrySnapshot s;
  EntrySnapshot torch = entry("torch", Status::loaded);
  torch.priority = 1;
  torch.load_time = 5.8041;
  torch.loads = 1;
  torch.size_bytes = 64 * 1024 * 1024;
  torch.stage = "ready";
  s.entries.push_back(torch);
  // 模型, two wide characters.
  EntrySnapshot bert = entry("\xE6\xA8\xA1\xE5\x9E\x8B", Status::loading);
  bert.priority = 2;
  bert.progress = 0.4;
  bert.stage = "weights";
  bert.size_bytes = 512;
  s.entries.push_back(bert);
  EntrySnapshot db = entry("d\nb", Status::failed);
  db.load_time = 0.0003;
  db.failures = 1;
  db.progress = 0.25;
  db.error = "lazyload: loading 'd\nb' failed: refused";
  s.entries.push_back(db);
  EntrySnapshot lazy = entry("lazy", Status::unloaded);
  lazy.load_time = 0.2111;
  lazy.loads = 1;
  s.entries.push_back(lazy);
  s.total = 4;
  s.loaded = 1;
  s.loading = 1;
  s.failed = 1;
  s.unloaded = 1;
  s.progress = 0.25;
  s.bytes_loaded = 64 * 1024 * 1024;
  s.memory_budget = 3ULL * 1024 * 1024 * 1024 / 2;
  s.not_ready = {"d\nb"};
  return s;
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
  CHECK(
      fmt::format("{}", fixed_snapshot()) ==
      "NAME   STATUS    PRIORITY  LOAD TIME  PROGRESS         SIZE  ERROR\n"
      "torch  loaded           1    5.804 s  100% ready   64.0 MiB\n"
      "\xE6\xA8\xA1\xE5\x9E\x8B   loading          2          -  40% weights  "
      "   512 B\n"
      "d\\nb   failed         100     300 us  25%                 -  "
      "lazyload: loading 'd\\nb' failed: refused\n"
      "lazy   unloaded       100   211.1 ms  -                   -\n"
      "4 entries: 1 loaded, 1 loading, 0 queued, 1 failed, 1 unloaded "
      "(25.0%); 64.0 MiB loaded of 1.5 GiB budget; not ready: 'd\\nb'");
}

TEST_CASE("an empty snapshot formats as a header and a summary", "[fmt]") {
  CHECK(fmt::format("{}", RegistrySnapshot{}) ==
        "NAME  STATUS  PRIORITY  LOAD TIME  PROGRESS  SIZE  ERROR\n"
        "0 entries: 0 loaded, 0 loading, 0 queued, 0 failed, 0 unloaded "
        "(0.0%); 0 B loaded; ready");
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
  CHECK(table.find("bad \xEF\xBF\xBD\xEF\xBF\xBD utf8") != std::string::npos);
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
    const bool wide = line.find("\xE6\xA8\xA1") != std::string::npos;
    CHECK(code_points + (wide ? 2 : 0) == column);
  }
  CHECK(lines.back() ==
        "7 entries: 2 loaded, 1 loading, 1 queued, 1 failed, 2 unloaded "
        "(28.6%); 64.0 MiB loaded of 1.0 GiB budget; not ready: "
        "'new\\nline\\ttab\\x01', 'bad \xEF\xBF\xBD\xEF\xBF\xBD utf8'");
}

TEST_CASE("a snapshot refuses a format spec", "[fmt]") {
  CHECK_THROWS_WITH_AS(
      fmt::format(fmt::runtime("{:>10}"), RegistrySnapshot{}),
      "lazyload: a registry snapshot takes no format spec, use '{}'",
      fmt::format_error);
}
