// lazyload/mapped_file.hpp
//
// `MappedFile` and `mapped_file(path)`: a file mapped read-only into memory
// on first use, for model weights and other large read-only data.
//
// Example Usage:
//
//   // A LazyHandle<lazyload::MappedFile>; nothing is opened yet.
//   lazyload::LazyHandle weights{"weights",
//                                lazyload::mapped_file("model.bin")};
//   const std::byte* p = weights->data();  // mapped now
//   std::size_t n = weights->size();
//
// Rationale: several processes that map the same weights file share its
// pages through the page cache, where each one reading it into its own
// buffer would hold a private copy: two workers on a 512 MB host that each
// read the same 300 MB model into memory are killed, where two that map it
// share one copy. Mapping costs no reading up front; the kernel pages the
// file in as it is touched. The loader reports the file's size, so a
// registry's memory budget counts it.
// A mapped file must not shrink: reading a page past a truncated file's new
// end raises SIGBUS. Replace such files by renaming a new file over them.
// POSIX only (mmap).

#ifndef LAZYLOAD_MAPPED_FILE_HPP_
#define LAZYLOAD_MAPPED_FILE_HPP_

#include <fcntl.h>     // open
#include <sys/mman.h>  // mmap, munmap
#include <sys/stat.h>  // fstat
#include <unistd.h>    // close

#include <cerrno>        // errno
#include <cstddef>       // std::byte, std::size_t
#include <memory>        // std::unique_ptr
#include <string>        // std::string
#include <system_error>  // std::generic_category
#include <utility>       // std::exchange, std::move

#include "detail/throw.hpp"
#include "error.hpp"
#include "progress.hpp"

namespace lazyload {

// MappedFile
//
// A whole file mapped read-only; unmapped when destroyed. Move-only. This
// type is thread-compatible: its const members may be called concurrently.
class MappedFile {
 public:
  // MappedFile::MappedFile()
  //
  // Opens and maps `path`, which must be a regular file: a directory, a
  // FIFO or a device is refused at once, without waiting on it. An empty
  // file maps to size() == 0 and a null data(). The bytes are the file's
  // own pages: if the file is truncated while mapped, reading past its new
  // end raises SIGBUS, so replace a mapped file by writing a new one and
  // renaming it over the old, never by rewriting it in place.
  // Thread safety: none needed.
  // Throws: LazyError naming the path and what is wrong, such as
  // "lazyload: cannot map 'model.bin': No such file or directory" (the OS
  // error), "... is a directory" or "... is not a regular file".
  // Invalidates: none.
  explicit MappedFile(std::string path) : path_(std::move(path)) {
    // The type is checked before open(), which would wait for a writer on a
    // FIFO, and again on the descriptor, which O_NONBLOCK keeps from
    // waiting if a FIFO took the file's place in between.
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) fail(errno);
    if (const char* what = not_regular(st)) fail(what);
    const int fd =
        ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) fail(errno);
    if (::fstat(fd, &st) != 0) fail_and_close(fd, errno);
    if (const char* what = not_regular(st)) {
      ::close(fd);
      fail(what);
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ != 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) fail_and_close(fd, errno);
      data_ = static_cast<std::byte*>(p);
    }
    ::close(fd);  // the mapping keeps the file
  }

  // MappedFile::MappedFile(MappedFile&&), operator=(MappedFile&&)
  //
  // Takes over `other`'s mapping, leaving `other` empty (size() == 0, a null
  // data()); assignment first unmaps the file this one held.
  // Thread safety: no other member of either object may run meanwhile.
  // Throws: none.
  // Invalidates: on assignment, data() of this object; the bytes taken from
  // `other` stay valid, now reached through this object.
  MappedFile(MappedFile&& other) noexcept
      : path_(std::move(other.path_)),
        data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  MappedFile& operator=(MappedFile&& other) noexcept {
    if (this != &other) {
      unmap();
      path_ = std::move(other.path_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // MappedFile::~MappedFile()
  //
  // Unmaps the file.
  // Thread safety: no other member may run during destruction.
  // Throws: none.
  // Invalidates: the mapping's bytes: every pointer obtained from data().
  ~MappedFile() { unmap(); }

  // MappedFile::data(), size(), path()
  //
  // The mapped bytes, their number, and the path mapped.
  // Thread safety: safe to call concurrently. Throws: none.
  // Invalidates: none; data() is valid until the MappedFile is destroyed or
  // moved from.
  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  const std::string& path() const noexcept { return path_; }

 private:
  // What is wrong with a file of status `st` for mapping ("is a
  // directory", "is not a regular file"), or nullptr if it is a regular file.
  static const char* not_regular(const struct stat& st) noexcept {
    if (S_ISREG(st.st_mode)) return nullptr;
    return S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file";
  }
  // Throws the LazyError saying `what` is wrong with the file.
  [[noreturn]] void fail(const std::string& what) const {
    detail::throw_error<LazyError>("lazyload: cannot map " +
                                   detail::quoted(path_) + ": " + what);
  }
  // Throws the LazyError for OS error `error` (an errno value).
  [[noreturn]] void fail(int error) const {
    fail(std::generic_category().message(error));
  }
  [[noreturn]] void fail_and_close(int fd, int error) const {
    ::close(fd);
    fail(error);
  }
  void unmap() noexcept {
    if (data_ != nullptr) {
      ::munmap(data_, size_);
      data_ = nullptr;
    }
  }

  std::string path_;
  std::byte* data_ = nullptr;  // mapped PROT_READ: never written through
  std::size_t size_ = 0;
};

// mapped_file()
//
// Returns a loader that maps `path` read-only, for LazyHandle or
// LazyRegistry::add(): `LazyHandle weights{mapped_file("model.bin")}` is a
// `LazyHandle<MappedFile>`. The loader reports the file's size.
// Thread safety: safe to call concurrently.
// Throws: std::bad_alloc only; the loader throws what MappedFile's
// constructor throws, which the handle turns into a LoadError.
// Invalidates: none.
inline auto mapped_file(std::string path) {
  return [path = std::move(path)](Progress& progress) {
    auto file = std::make_unique<MappedFile>(path);
    progress.set_size(file->size());
    progress.report(1.0, "mapped");
    return file;
  };
}

}  // namespace lazyload

#endif  // LAZYLOAD_MAPPED_FILE_HPP_
