// expect: Warmup: the warm-up must take the value by reference, such as [](Model& m) { ... }; a generic lambda cannot be checked against the handle's type
#include <lazyload/handle.hpp>
int main() {
  lazyload::HandleOptions options;
  options.warmup = [](auto& value) { (void)value; };
}
