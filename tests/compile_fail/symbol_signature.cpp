// expect: LazySymbol<Signature>: Signature must be a function type without noexcept or C varargs, such as LazySymbol<int(int)>
#include <lazyload/shared_library.hpp>
int main() {
  lazyload::LazyLibrary m{"libm.so.6"};
  lazyload::LazySymbol<double (*)(double)> cosine{m, "cos"};
  return 0;
}
