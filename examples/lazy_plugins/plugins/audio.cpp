// The "audio" plugin of examples/lazy_plugins: a stand-in for an audio
// library with a short initializer (80 ms).

#include <chrono>
#include <cmath>
#include <thread>

namespace {

struct Mixer {
  Mixer() { std::this_thread::sleep_for(std::chrono::milliseconds(80)); }
};

const Mixer mixer;

}  // namespace

// The root mean square of `count` samples.
extern "C" double audio_rms(const float* samples, int count) {
  double sum = 0.0;
  for (int i = 0; i < count; ++i) sum += double(samples[i]) * samples[i];
  return count > 0 ? std::sqrt(sum / count) : 0.0;
}
