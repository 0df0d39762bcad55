// Tests for what a loader may return (lazyload/detail/loader.hpp, through
// LazyHandle and LazyRegistry): T by value, including a T that can be neither
// copied nor moved; a reference to something T is constructible from, which
// is copied; std::unique_ptr<T> and std::shared_ptr<T>, also by reference to
// a shared_ptr, which shares ownership.

#include <memory>
#include <string>
#include <type_traits>

#include "lazyload/handle.hpp"
#include "lazyload/registry.hpp"
#include "support/catch_compat.hpp"

using lazyload::LazyHandle;
using lazyload::Progress;

namespace {

// Can be neither copied nor moved: only guaranteed copy elision (C++17)
// returns it from a function.
struct Pinned {
  explicit Pinned(int v) : value(v), self(this) {}
  Pinned(const Pinned&) = delete;
  Pinned(Pinned&&) = delete;
  Pinned& operator=(const Pinned&) = delete;
  Pinned& operator=(Pinned&&) = delete;
  ~Pinned() = default;

  int value;
  const Pinned* self;  // where it was constructed: it never moved
};

Pinned make_pinned(int v) { return Pinned(v); }

struct Config {
  std::string host = "localhost";
  int port = 80;
};

Config g_config;  // NOLINT: the global a loader refers to

// A buffer, and a view constructible only from an lvalue of it.
struct Buffer {
  std::string bytes;
};
struct View {
  explicit View(Buffer& b) : buffer(&b) {}
  Buffer* buffer;
};

Buffer g_buffer;  // NOLINT: the buffer a view refers to

}  // namespace

TEST_CASE("a loader may return a T that can be neither copied nor moved",
          "[loader]") {
  LazyHandle<Pinned> pinned{[] { return Pinned(7); }};
  CHECK(pinned->value == 7);
  CHECK(pinned->self == &pinned.get());  // constructed in place, never moved

  LazyHandle<Pinned> with_progress{[](Progress& p) {
    p.report(0.5, "half");
    return make_pinned(8);
  }};
  CHECK(with_progress->value == 8);
  CHECK(with_progress->self == &with_progress.get());

  const auto lease = pinned.lease();
  CHECK(lease.get() == &pinned.get());
}

TEST_CASE("class template argument deduction takes a non-movable T",
          "[loader]") {
  LazyHandle deduced{"pinned", [] { return make_pinned(9); }};
  static_assert(std::is_same_v<decltype(deduced), LazyHandle<Pinned>>);
  CHECK(deduced->value == 9);
  CHECK(deduced->self == &deduced.get());
}

TEST_CASE("a loader may return a const non-movable T", "[loader]") {
  LazyHandle<const Pinned> pinned{[]() -> const Pinned { return Pinned(3); }};
  CHECK(pinned->value == 3);
  CHECK(pinned->self == &pinned.get());
}

TEST_CASE("a registry entry may be a non-movable T", "[loader]") {
  lazyload::LazyRegistry registry;
  registry.add("pinned", [] { return Pinned(11); });
  CHECK(registry.get<Pinned>("pinned").value == 11);
  CHECK(registry.get<Pinned>("pinned").self == &registry.get<Pinned>("pinned"));
}

TEST_CASE("a loader returning a const reference has its referent copied",
          "[loader]") {
  g_config = Config{"db.local", 5432};
  LazyHandle<Config> config{[]() -> const Config& { return g_config; }};
  CHECK(config->host == "db.local");
  CHECK(&config.get() != &g_config);  // a copy, owned by the handle
  g_config.port = 1;
  CHECK(config->port == 5432);  // later changes to the referent do not show
}

TEST_CASE(
    "class template argument deduction of a reference loader takes "
    "the referred type",
    "[loader]") {
  g_config = Config{"cache.local", 6379};
  LazyHandle deduced{[]() -> Config& { return g_config; }};
  static_assert(std::is_same_v<decltype(deduced), LazyHandle<Config>>);
  static_assert(
      std::is_same_v<lazyload::loader_result_t<const Config& (*)()>, Config>);
  CHECK(deduced->port == 6379);
  CHECK(&deduced.get() != &g_config);
}

TEST_CASE("a loader returning U& makes a T constructible from U&", "[loader]") {
  g_buffer.bytes = "abc";
  LazyHandle<View> view{[]() -> Buffer& { return g_buffer; }};
  CHECK(view->buffer == &g_buffer);
  CHECK(view->buffer->bytes == "abc");
}

TEST_CASE("a loader returning an rvalue reference has its referent moved",
          "[loader]") {
  static std::string source = "moved out";
  LazyHandle<std::string> moved{
      []() -> std::string&& { return std::move(source); }};
  CHECK(*moved == "moved out");
  CHECK(source.empty());  // NOLINT(bugprone-use-after-move): moved, checked
}

TEST_CASE("a handle of a smart pointer holds the smart pointer", "[loader]") {
  // The loader's unique_ptr cannot give a std::shared_ptr<std::unique_ptr>
  // ownership, so it is the value: moved into the handle.
  LazyHandle<std::unique_ptr<int>> handle{
      [] { return std::make_unique<int>(4); }};
  CHECK(**handle == 4);
}

TEST_CASE("a loader returning a reference to a shared_ptr shares ownership",
          "[loader]") {
  static const auto shared = std::make_shared<Config>();
  LazyHandle<Config> config{
      []() -> const std::shared_ptr<Config>& { return shared; }};
  CHECK(&config.get() == shared.get());
  CHECK(shared.use_count() == 2);
  config.unload();
  CHECK(shared.use_count() == 1);
}
