// expect: LazyHandle: the loader returns a std::unique_ptr by lvalue reference, whose ownership it cannot take; return the std::unique_ptr<T> by value
#include <lazyload/handle.hpp>
#include <memory>
int main() {
  static auto owner = std::make_unique<int>(1);
  lazyload::LazyHandle<int> h{[]() -> std::unique_ptr<int>& { return owner; }};
  return h.get();
}
