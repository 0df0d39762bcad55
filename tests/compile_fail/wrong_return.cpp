// expect: LazyHandle: the loader must return T (or a value or reference T is constructible from), std::unique_ptr<T> or std::shared_ptr<T>
#include <lazyload/handle.hpp>
#include <string>
int main() {
  lazyload::LazyHandle<int> h{[] { return std::string("not an int"); }};
  return h.get();
}
