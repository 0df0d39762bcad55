// The "vision" plugin of examples/lazy_plugins: a stand-in for an image
// library whose initializer is slow (300 ms), like one that loads codecs
// and builds lookup tables when it is opened.

#include <chrono>
#include <thread>

namespace {

struct Codecs {
  Codecs() { std::this_thread::sleep_for(std::chrono::milliseconds(300)); }
};

const Codecs codecs;

}  // namespace

// Counts the pixels brighter than `threshold` in a grey image.
extern "C" int vision_detect(const unsigned char* pixels, int width, int height,
                             int threshold) {
  int count = 0;
  for (int i = 0; i < width * height; ++i) count += pixels[i] > threshold;
  return count;
}
