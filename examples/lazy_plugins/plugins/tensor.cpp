// The "tensor" plugin of examples/lazy_plugins: a stand-in for a numeric
// runtime. Its initializer takes 120 ms, as a real one spends setting up
// kernels and thread pools when the library is opened.

#include <chrono>
#include <thread>

namespace {

struct Runtime {
  Runtime() { std::this_thread::sleep_for(std::chrono::milliseconds(120)); }
};

const Runtime runtime;

}  // namespace

extern "C" double tensor_dot(const double* a, const double* b, int n) {
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}
