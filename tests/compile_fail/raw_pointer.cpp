// expect: LazyHandle: the loader must return T, std::unique_ptr<T> or std::shared_ptr<T>
#include <lazyload/handle.hpp>
int main() {
  // Who would own it? A raw pointer is refused.
  lazyload::LazyHandle<int> h{[] { return new int(1); }};
  return h.get();
}
