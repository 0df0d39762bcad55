// expect: LazyHandle: the loader returns void; it must return T, std::unique_ptr<T> or std::shared_ptr<T>
#include <lazyload/handle.hpp>
int main() {
  lazyload::LazyHandle h{[] {}};  // class template argument deduction
  (void)h;
}
