// profile_fuzz: libFuzzer harness for the warm-start profile reader
// (detail/json_reader.hpp and the parsing in profile.hpp).
//
// Reads its input as a profile's text, and checks that the reader either
// accepts it or throws a LazyError (never anything else), that the profile
// parser accepts only what the plain JSON reader accepts, that the entries
// come back sorted (most used first, then first loaded), and that writing
// them as a profile and reading that back gives the same text again. The
// sanitizers it is built with (ASan, UBSan) catch the rest.
//
//   cmake -B build/fuzz -DCMAKE_CXX_COMPILER=clang++
//   -DLAZYLOAD_BUILD_FUZZERS=ON \
//         "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined"
//   cmake --build build/fuzz --target lazyload_profile_fuzz
//   mkdir -p /tmp/profile-corpus && build/fuzz/tests/lazyload_profile_fuzz \
//       -max_total_time=600 /tmp/profile-corpus tests/fuzz/profile-corpus

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <lazyload/profile.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace {

using lazyload::detail::JsonReader;
using lazyload::detail::ProfileWish;

[[noreturn]] void fail(const std::string& what, std::string_view text) {
  std::fprintf(stderr, "profile_fuzz: %s\n%.*s\n", what.c_str(),
               static_cast<int>(text.size()), text.data());
  std::abort();
}

// Whether `text` is one JSON value to the plain reader.
bool is_json(std::string_view text) {
  try {
    JsonReader r(text);
    r.skip_value();
    r.end();
    return true;
  } catch (const lazyload::LazyError&) {
    return false;
  }
}

// `wishes` as a profile's text, in their order.
std::string profile_of(const std::vector<ProfileWish>& wishes) {
  std::string out = R"({"format": "lazyload-profile", "entries": [)";
  for (const ProfileWish& w : wishes) {
    out += "\n  {\"name\": ";
    lazyload::detail::append_json_string(out, w.name);
    out += ", \"order\": ";
    lazyload::detail::append_number(out, w.order);
    out += ", \"uses\": ";
    lazyload::detail::append_number(out, w.uses);
    out += "},";
  }
  if (!wishes.empty()) out.pop_back();
  out += "]}";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): bytes
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool json = is_json(text);
  std::vector<ProfileWish> wishes;
  try {
    wishes = lazyload::detail::parse_profile(text);
  } catch (const lazyload::LazyError&) {
    return 0;  // not a profile: said so, which is all that is asked
  }
  if (!json) fail("a profile that is not JSON was accepted", text);
  for (std::size_t i = 1; i < wishes.size(); ++i) {
    const ProfileWish& a = wishes[i - 1];
    const ProfileWish& b = wishes[i];
    if (a.uses < b.uses || (a.uses == b.uses && a.order > b.order)) {
      fail("entries out of order at " + std::to_string(i), text);
    }
  }
  // Written out and read back, the entries give the same text again (names
  // that are not UTF-8 change once, when first written).
  const std::string written = profile_of(wishes);
  std::vector<ProfileWish> again;
  try {
    again = lazyload::detail::parse_profile(written);
  } catch (const lazyload::LazyError& e) {
    fail(std::string("the profile written cannot be read: ") + e.what(),
         written);
  }
  if (again.size() != wishes.size()) fail("entries lost", written);
  if (profile_of(again) != written) fail("the profile changed", written);
  return 0;
}
