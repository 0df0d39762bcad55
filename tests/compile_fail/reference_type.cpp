// expect: LazyHandle<T>: T must be an object type (not a reference, function, array or void)
#include <lazyload/handle.hpp>
int main() {
  static int x = 1;
  lazyload::LazyHandle<int&> h{[]() -> int& { return x; }};
  (void)h;
}
