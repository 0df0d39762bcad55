// expect: LazyHandle: the loader returns a raw pointer to T, which nobody would own; return std::unique_ptr<T> or std::shared_ptr<T>
#include <lazyload/handle.hpp>
int main() {
  // Who would own it? A raw pointer is refused.
  lazyload::LazyHandle<int> h{[] { return new int(1); }};
  return h.get();
}
