// expect: LazyHandle: the loader returns void; it must return T, std::unique_ptr<T> or std::shared_ptr<T>
#include <lazyload/registry.hpp>
int main() {
  lazyload::LazyRegistry r;
  r.add("x", [] {});
}
