// registry_fuzz: libFuzzer harness for LazyRegistry and dump_status.
//
// Turns its input into a sequence of registry operations with arbitrary
// names (any bytes: quotes, control characters, invalid UTF-8), error
// messages, priorities, sizes, dependencies and budgets, and checks after
// each status dump that the JSON parses, that its counts add up to the
// number of entries, and that every status is one of the five words. The
// sanitizers it is built with (ASan, UBSan) catch the rest.
//
//   cmake -B build/fuzz -DCMAKE_CXX_COMPILER=clang++
//   -DLAZYLOAD_BUILD_FUZZERS=ON \
//         "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined"
//   cmake --build build/fuzz --target lazyload_registry_fuzz
//   mkdir -p /tmp/corpus && build/fuzz/tests/lazyload_registry_fuzz \
//       -max_total_time=600 /tmp/corpus tests/fuzz/corpus

#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <lazyload/json.hpp>
#include <lazyload/lazyload.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& dump) {
  std::fprintf(stderr, "registry_fuzz: %s\n%s\n", what.c_str(), dump.c_str());
  std::abort();
}

void check_status(const lazyload::LazyRegistry& registry) {
  const std::string dump = lazyload::dump_status(registry);
  const nlohmann::json j = nlohmann::json::parse(dump, nullptr, false);
  if (j.is_discarded()) fail("dump_status is not valid JSON", dump);
  const auto& p = j.at("progress");
  const auto count = [&](const char* key) {
    return p.at(key).get<std::size_t>();
  };
  const std::size_t total = count("total");
  if (count("loaded") + count("failed") + count("loading") + count("queued") +
          count("unloaded") !=
      total) {
    fail("progress counts do not add up to total", dump);
  }
  if (total != registry.size())
    fail("total is not the number of entries", dump);
  // Names that differ only in invalid UTF-8 may print alike, so at most.
  if (j.at("entries").size() > total) fail("more entries than total", dump);
  static const std::set<std::string> kWords = {"unloaded", "queued", "loading",
                                               "loaded", "failed"};
  for (const auto& [name, e] : j.at("entries").items()) {
    if (kWords.count(e.at("status").get<std::string>()) == 0) {
      fail("unknown status for '" + name + "'", dump);
    }
    if (!e.at("error").is_null() && !e.at("error").is_string()) {
      fail("error is neither null nor a string", dump);
    }
    if (e.at("load_time").get<double>() < 0) fail("negative load time", dump);
  }
}

std::string pick_name(FuzzedDataProvider& in,
                      const std::vector<std::string>& names) {
  if (!names.empty() && in.ConsumeBool()) {
    return names[in.ConsumeIntegralInRange<std::size_t>(0, names.size() - 1)];
  }
  return in.ConsumeRandomLengthString(16);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  FuzzedDataProvider in(data, size);
  lazyload::RegistryOptions options;
  options.workers = 2;
  if (in.ConsumeBool()) {
    options.memory_budget = in.ConsumeIntegralInRange<std::size_t>(1, 4096);
  }
  lazyload::LazyRegistry registry(options);
  std::vector<std::string> names;

  for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
    try {
      switch (in.ConsumeIntegralInRange<int>(0, 8)) {
      case 0: {
        const std::string name = in.ConsumeRandomLengthString(24);
        lazyload::EntryOptions o;
        o.priority = in.ConsumeIntegral<int>();
        o.size_bytes = in.ConsumeIntegralInRange<std::size_t>(0, 2048);
        o.evictable = in.ConsumeBool();
        o.required = in.ConsumeBool();
        if (in.ConsumeBool()) o.depends_on.push_back(pick_name(in, names));
        const int kind = in.ConsumeIntegralInRange<int>(0, 3);
        const std::string message = in.ConsumeRandomLengthString(40);
        registry.add(
            name,
            [kind, message](lazyload::Progress& p) -> std::string {
              p.report(0.5, message);
              if (kind == 1) throw std::runtime_error(message);
              if (kind == 2) throw kind;
              return message;
            },
            o);
        names.push_back(name);
        break;
      }
      case 1:
        (void)registry.get<std::string>(pick_name(in, names));
        break;
      case 2:
        registry.unload(pick_name(in, names));
        break;
      case 3:
        registry.load_async(pick_name(in, names)).wait();
        break;
      case 4:
        registry.start_background();
        if (!registry.wait_idle(std::chrono::seconds(20))) {
          fail("background loading did not finish", "");
        }
        break;
      case 5:
        (void)registry.load_all();
        break;
      default:
        check_status(registry);
        break;
      }
    } catch (const lazyload::LazyError&) {
      // Bad names, failed loads, cycles: expected; the state must stay sane.
    }
  }
  registry.wait_idle(std::chrono::seconds(20));
  check_status(registry);
  return 0;
}
