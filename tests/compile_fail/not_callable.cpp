// expect: LazyHandle: the loader must be callable with no arguments or with lazyload::Progress&
#include <lazyload/handle.hpp>
int main() {
  lazyload::LazyHandle<int> h{42};
  return h.get();
}
