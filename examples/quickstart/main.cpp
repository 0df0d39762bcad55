// quickstart: the `get_model()` of a web app with one heavy model, in C++.
//
// The Python original loaded a 300 MB model at import time: 13 s before the
// service answered anything. Made lazy with double-checked locking, startup
// took 3 s and only the first request paid for the model. This is that
// pattern with lazyload: the program is ready at once, the first request
// loads and warms the model (exactly once, however many threads ask), and
// every later use costs one atomic load and a branch.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <lazyload/lazyload.hpp>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

// A stand-in for a real model: "weights" that take real work to produce.
class Model {
 public:
  explicit Model(std::size_t n, lazyload::Progress& progress) : weights_(n) {
    std::uint64_t state = 88172645463325252ULL;  // xorshift64
    for (std::size_t i = 0; i < n; ++i) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      weights_[i] = static_cast<float>(state % 1000) / 1000.0F;
      if (i % (n / 4) == 0) progress.report(double(i) / n, "weights");
    }
    progress.set_size(n * sizeof(float));
  }

  float predict(float x) const {
    float acc = 0;
    for (std::size_t i = 0; i < 1024; ++i) acc += weights_[i] * x;
    return acc;
  }

 private:
  std::vector<float> weights_;
};

// The application's get_model(): loaded on first use, warmed up before anyone
// sees it, the same object on every call.
lazyload::LazyHandle<Model>& model() {
  static lazyload::LazyHandle<Model> handle{
      "sentiment-model",
      [](lazyload::Progress& progress) {
        return std::make_unique<Model>(std::size_t{1} << 24, progress);
      },
      lazyload::HandleOptions{
          /*warmup=*/[](Model& m) { (void)m.predict(1.0F); },
          /*failure_cooldown=*/{}}};
  return handle;
}

}  // namespace

int main(int argc, char** argv) {
  // The number of fast-path calls to time; tests pass a smaller one.
  const long calls = argc > 1 ? std::atol(argv[1]) : 50'000'000L;
  const auto start = Clock::now();
  lazyload::LazyHandle<Model>& handle = model();
  std::printf("startup: ready in %.3f ms, model is %s\n", ms_since(start),
              lazyload::to_string(handle.status()).c_str());

  // Four requests arrive at once; one of them loads, the others wait.
  std::vector<double> first_request_ms(4);
  std::vector<const Model*> seen(4);
  std::vector<std::thread> requests;
  const auto burst = Clock::now();
  for (std::size_t i = 0; i < 4; ++i) {
    requests.emplace_back([&, i] {
      seen[i] = &handle.get();
      first_request_ms[i] = ms_since(burst);
    });
  }
  for (auto& t : requests) t.join();
  const lazyload::HandleStats stats = handle.stats();
  std::printf(
      "first requests: 4 threads answered in %.1f to %.1f ms; the loader ran "
      "%llu time(s) and took %.1f ms (with warm-up); same object: %s\n",
      *std::min_element(first_request_ms.begin(), first_request_ms.end()),
      *std::max_element(first_request_ms.begin(), first_request_ms.end()),
      static_cast<unsigned long long>(stats.loads), stats.load_time * 1000.0,
      (seen[0] == seen[1] && seen[1] == seen[2] && seen[2] == seen[3]) ? "yes"
                                                                       : "no");

  // Later uses: the loaded fast path.
  const Model* sink = nullptr;
  const auto loop = Clock::now();
  for (long i = 0; i < calls; ++i) {
    sink = &model().get();
    std::atomic_signal_fence(std::memory_order_seq_cst);  // keep the loop
  }
  const double ns = ms_since(loop) * 1e6 / double(calls);
  std::printf(
      "later uses: %ld get() calls, %.2f ns each (status %s, %.1f MB)\n", calls,
      ns, lazyload::to_string(handle.status()).c_str(),
      double(stats.size_bytes) / (1 << 20));
  std::printf("prediction: %.3f\n", static_cast<double>(sink->predict(0.5F)));
  return stats.loads == 1 ? 0 : 1;
}
