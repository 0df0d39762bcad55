// memory_budget: the image annotator's caches, kept under a memory budget.
//
// The Python original browsed a directory of large images next to a large
// model. It cached image metadata apart from pixels, evicted the least
// recently used images from a size-limited cache, and cleaned up at 85 % and
// 95 % memory use. Here each image is two registry entries: its metadata
// (read from the file's header only, kept) and its pixels (evictable, sized),
// under a budget far smaller than all the pixels. Browsing leases the pixels;
// the registry evicts the least recently leased ones to stay in budget, and
// never frees pixels that a lease still holds.
//
//   memory_budget [IMAGES]      default 300 images of 128x128 RGB (48 KiB)

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <lazyload/lazyload.hpp>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Meta {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::string label;
};

struct Pixels {
  std::vector<std::uint8_t> rgb;
  std::uint64_t sum() const {
    return std::accumulate(rgb.begin(), rgb.end(), std::uint64_t{0});
  }
};

// An image file: "LZIM", width, height, a 16-byte label, then RGB pixels.
void write_image(const fs::path& path, std::uint32_t w, std::uint32_t h,
                 unsigned seed) {
  std::ofstream out(path, std::ios::binary);
  out.write("LZIM", 4);
  out.write(reinterpret_cast<const char*>(&w), 4);
  out.write(reinterpret_cast<const char*>(&h), 4);
  char label[16] = {};
  std::snprintf(label, sizeof label, "%s", seed % 3 ? "cat" : "dog");
  out.write(label, 16);
  std::vector<char> rgb(std::size_t{w} * h * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) {
    rgb[i] = static_cast<char>((i * 31 + seed * 7) & 0xff);
  }
  out.write(rgb.data(), static_cast<std::streamsize>(rgb.size()));
}

Meta read_meta(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4];
  Meta m;
  char label[16];
  in.read(magic, 4);
  in.read(reinterpret_cast<char*>(&m.width), 4);
  in.read(reinterpret_cast<char*>(&m.height), 4);
  in.read(label, 16);
  if (!in || std::string(magic, 4) != "LZIM") {
    throw std::runtime_error(path.string() + ": not an image");
  }
  m.label.assign(label, ::strnlen(label, sizeof label));
  return m;
}

std::unique_ptr<Pixels> read_pixels(const fs::path& path, const Meta& meta,
                                    lazyload::Progress& progress) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(28);
  auto p = std::make_unique<Pixels>();
  p->rgb.resize(std::size_t{meta.width} * meta.height * 3);
  in.read(reinterpret_cast<char*>(p->rgb.data()),
          static_cast<std::streamsize>(p->rgb.size()));
  if (!in) throw std::runtime_error(path.string() + ": truncated pixels");
  progress.set_size(p->rgb.size());
  return p;
}

std::string mb(std::size_t bytes) {
  if (bytes == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f MB", double(bytes) / 1e6);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const int images = argc > 1 ? std::atoi(argv[1]) : 300;
  constexpr std::uint32_t kSide = 128;
  constexpr std::size_t kPixelBytes = std::size_t{kSide} * kSide * 3;
  const fs::path dir = fs::temp_directory_path() / "lazyload-memory-budget";
  fs::create_directories(dir);
  for (int i = 0; i < images; ++i) {
    const fs::path path = dir / ("img" + std::to_string(i) + ".lzim");
    if (!fs::exists(path)) write_image(path, kSide, kSide, unsigned(i));
  }
  std::printf("%d images of %zu KiB in %s: %s of pixels\n", images,
              kPixelBytes / 1024, dir.c_str(),
              mb(images * kPixelBytes).c_str());

  lazyload::RegistryOptions options;
  options.memory_budget = 40 * kPixelBytes;           // room for 40 images
  options.pressure = lazyload::PressureThresholds{};  // 85 % and 95 %
  int warnings = 0;
  int criticals = 0;
  options.on_pressure = [&](const lazyload::PressureEvent& e) {
    (e.level == lazyload::PressureLevel::critical ? criticals : warnings)++;
  };
  lazyload::LazyRegistry registry(options);

  for (int i = 0; i < images; ++i) {
    const std::string name = "img" + std::to_string(i);
    const fs::path path = dir / (name + ".lzim");
    registry.add(name + "/meta", [path] { return read_meta(path); });
    lazyload::EntryOptions pixels;
    pixels.depends_on = {name + "/meta"};
    pixels.size_bytes = kPixelBytes;
    pixels.evictable = true;
    registry.add(
        name + "/pixels",
        [&registry, name, path](lazyload::Progress& p) {
          return read_pixels(path, registry.get<Meta>(name + "/meta"), p);
        },
        pixels);
  }
  std::printf("budget: %s (40 images), pressure at 85 %% and 95 %%\n",
              mb(options.memory_budget).c_str());

  // The user opens the first image and keeps it open in a side panel.
  std::shared_ptr<Pixels> pinned =
      registry.handle<Pixels>("img0/pixels").lease();
  const std::uint64_t pinned_sum = pinned->sum();

  // Then browses every image, going back now and then to recent ones.
  std::uint64_t checksum = 0;
  for (int i = 1; i < images; ++i) {
    checksum += registry.handle<Pixels>("img" + std::to_string(i) + "/pixels")
                    .lease()
                    ->rgb[0];
    if (i % 10 == 0) {
      const int back = i - 3;
      checksum +=
          registry.handle<Pixels>("img" + std::to_string(back) + "/pixels")
              .lease()
              ->rgb[1];
    }
  }

  const lazyload::RegistrySnapshot s = registry.snapshot();
  std::size_t resident = 0;
  std::size_t metas = 0;
  std::uint64_t evictions = 0;
  for (const auto& e : s.entries) {
    const bool is_pixels = e.name.find("/pixels") != std::string::npos;
    if (is_pixels && e.status == lazyload::Status::loaded) ++resident;
    if (!is_pixels && e.status == lazyload::Status::loaded) ++metas;
    evictions += e.evictions;
  }
  std::printf("\n  %-14s %-9s %10s %9s\n", "ENTRY", "STATUS", "SIZE",
              "EVICTIONS");
  for (const auto& e : s.entries) {
    const bool show = e.name == "img0/pixels" || e.name == "img1/pixels" ||
                      e.name == "img1/meta" ||
                      e.name == "img" + std::to_string(images - 1) + "/pixels";
    if (!show) continue;
    std::printf("  %-14s %-9s %10s %9llu\n", e.name.c_str(),
                lazyload::to_string(e.status).c_str(), mb(e.size_bytes).c_str(),
                static_cast<unsigned long long>(e.evictions));
  }
  std::printf("\n  pixels resident   %zu of %d\n", resident, images);
  std::printf("  metadata loaded   %zu of %d (kept: not evictable)\n", metas,
              images);
  std::printf("  bytes loaded      %s of %s budget (%s)\n",
              mb(s.bytes_loaded).c_str(), mb(s.memory_budget).c_str(),
              lazyload::to_string(s.pressure).c_str());
  std::printf("  evictions         %llu (least recently leased first)\n",
              static_cast<unsigned long long>(evictions));
  std::printf("  pressure events   %d warning, %d critical\n", warnings,
              criticals);
  std::printf("  over budget       %llu loads\n",
              static_cast<unsigned long long>(s.budget_overshoots));
  std::printf("  process RSS       %s\n", mb(s.rss_bytes).c_str());
  std::printf("  lease held across eviction: %s\n",
              pinned->sum() == pinned_sum ? "intact" : "CORRUPTED");
  std::printf("  (browsing checksum %llu)\n",
              static_cast<unsigned long long>(checksum));
  return pinned->sum() == pinned_sum && s.bytes_loaded <= s.memory_budget ? 0
                                                                          : 1;
}
