// lazyload/profile.hpp
//
// Warm start: `save_profile()` writes which entries a run loaded, in order,
// with their uses and load times; at the next start `preload_profile()`
// queues them in the background, the most used first, ahead of any
// background pass.
//
// Example Usage:
//
//   lazyload::ProfileReport report =
//       lazyload::preload_profile(registry, "app.profile.json");
//   if (!report.error.empty()) log(report.error);  // corrupt: nothing queued
//   ...
//   lazyload::save_profile(registry, "app.profile.json");  // at exit
//
// Rationale:
//
// * Built only on the registry's public interface (snapshot(), entry(),
//   load_async()), so that the core registry needs no file or JSON code.
// * The file is small JSON, read back by a strict reader of the core's own
//   (detail/json_reader.hpp), so that warm starts need no JSON library.
// * A missing profile is not an error (the first run has none), and a bad
//   one never stops a program from starting: preload_profile() never throws
//   for the file's sake, it says what is wrong in the report. It reads only
//   regular files of at most kMaxProfileBytes, without waiting on a FIFO or
//   a device, in memory of at most about twelve times the file's size (less
//   than its size for a typical profile).
// * Saving writes a temporary file of its own and renames it over the
//   profile, so a crash never leaves half a profile, and saves racing to one
//   path (from threads or processes) each leave a whole one.
// * Numbers are written and read without the C locale (std::to_chars,
//   std::from_chars), so a profile reads back under any LC_NUMERIC.
// POSIX (open, read, write, fsync, rename).

#ifndef LAZYLOAD_PROFILE_HPP_
#define LAZYLOAD_PROFILE_HPP_

#include <fcntl.h>     // open
#include <sys/stat.h>  // stat, fstat
#include <unistd.h>    // read, write, fsync, close, unlink, getpid

#include <algorithm>     // std::min, std::max, std::sort, std::stable_sort
#include <atomic>        // std::atomic
#include <cerrno>        // errno
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint64_t
#include <cstdio>        // std::rename
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::generic_category
#include <utility>       // std::exchange
#include <vector>        // std::vector

#include "detail/json_reader.hpp"
#include "detail/text.hpp"
#include "detail/throw.hpp"
#include "error.hpp"
#include "registry.hpp"
#include "snapshot.hpp"
#include "status.hpp"

namespace lazyload {

// kMaxProfileBytes
//
// The size limit of a profile, 4 MiB: room for tens of thousands of
// entries. preload_profile() refuses a larger file (reading at most one byte
// past the limit), and save_profile() refuses to write one.
inline constexpr std::size_t kMaxProfileBytes = std::size_t{4} << 20;

// ProfileReport
//
// What preload_profile() did.
struct ProfileReport {
  // Whether something exists at the profile's path. A missing file is not
  // an error: the first run of a program has no profile yet.
  bool found = false;
  // The entries queued, in the order they will load (most used first).
  std::vector<std::string> queued;
  // Names in the profile that are not registered; skipped.
  std::vector<std::string> unknown;
  // Why nothing was queued, for a file that could not be read ("lazyload:
  // cannot read profile 'p.json': is a directory") or parsed ("lazyload:
  // profile 'p.json' is corrupt: expected ':' at byte 51"); empty otherwise.
  std::string error;
};

// save_profile()
//
// Writes a usage profile of `registry` to `path`: the entries loaded during
// this run, in the order they first loaded, with their load counts, uses
// (loads plus leases) and last load time, as a small JSON file. The file is
// written to a temporary file of its own beside `path` (`path`.tmp.<unique>),
// flushed to disk and renamed over `path`, so a crash never leaves half a
// profile, and of saves racing to one path the last rename wins whole.
// Thread safety: safe to call concurrently with every member of the
// registry, and with saves to the same path from other threads or
// processes.
// Throws: LazyError naming the path and the OS error if it cannot be
// written ("lazyload: cannot write profile 'p.json': Permission denied"),
// or if the profile would be larger than kMaxProfileBytes; the temporary
// file is removed.
// Invalidates: none.
void save_profile(const LazyRegistry& registry, const std::string& path);

// preload_profile()
//
// Reads a profile written by save_profile() (an earlier run) and queues its
// entries of `registry` for loading in the background, the most used first,
// ahead of any background pass: a warm start. Names not registered are
// skipped and listed in the report. A missing file is a no-op (`found` is
// false); a file that cannot be read or parsed queues nothing and says why in
// `error`: "lazyload: cannot read profile 'p.json': " and "is a directory",
// "is not a regular file" (a FIFO or a device, refused without waiting on
// it), "is too large (N bytes; the limit is 4194304)" (kMaxProfileBytes) or
// the OS error ("Permission denied"); or "lazyload: profile 'p.json' is
// corrupt: " and what is wrong. It never throws for the file's sake, and
// needs memory of at most about twelve times the file's size.
// Thread safety: safe to call concurrently with every member of the
// registry, and with save_profile() to the same path (from any process).
// Throws: std::bad_alloc; std::system_error if a thread cannot start.
// Invalidates: none.
ProfileReport preload_profile(LazyRegistry& registry, const std::string& path);

// End of public interfaces.
// Implementation details follow.

namespace detail {

// The profile's text: the loaded entries of `snapshot` in first-load order.
inline std::string profile_text(const RegistrySnapshot& snapshot) {
  std::vector<const EntrySnapshot*> used;
  for (const EntrySnapshot& e : snapshot.entries) {
    if (e.first_load != 0) used.push_back(&e);
  }
  std::sort(used.begin(), used.end(),
            [](const EntrySnapshot* a, const EntrySnapshot* b) {
              return a->first_load < b->first_load;
            });
  std::string out = R"({"format": "lazyload-profile", "version": 1, )";
  out += "\"entries\": [";
  for (std::size_t i = 0; i < used.size(); ++i) {
    out += i == 0 ? "\n  {\"name\": " : ",\n  {\"name\": ";
    append_json_string(out, used[i]->name);
    out += ", \"order\": ";
    append_number(out, static_cast<std::uint64_t>(i + 1));
    out += ", \"loads\": ";
    append_number(out, used[i]->loads);
    out += ", \"uses\": ";
    append_number(out, used[i]->uses);
    out += ", \"load_time\": ";
    append_number(out, used[i]->load_time);
    out += "}";
  }
  out += "\n]}\n";
  return out;
}

// The text of OS error `error` (an errno value): "Permission denied".
inline std::string os_error(int error) {
  return std::generic_category().message(error);
}

inline std::string too_large(std::uint64_t size) {
  return "is too large (" + std::to_string(size) + " bytes; the limit is " +
         std::to_string(kMaxProfileBytes) + ")";
}

// What is wrong with a file of status `st` for a profile, or nullptr if it
// is a regular file.
inline const char* not_regular(const struct stat& st) noexcept {
  if (S_ISREG(st.st_mode)) return nullptr;
  return S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file";
}

// Closes a file descriptor when destroyed.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  FileDescriptor(FileDescriptor&&) = delete;
  FileDescriptor& operator=(FileDescriptor&&) = delete;
  int get() const noexcept { return fd_; }
  // Closes it now; returns close()'s result.
  int close() noexcept { return ::close(std::exchange(fd_, -1)); }
  // Gives the descriptor up, unclosed.
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

[[noreturn]] inline void fail_to_write(const std::string& path,
                                       const std::string& why) {
  throw_error<LazyError>("lazyload: cannot write profile " + quoted(path) +
                         ": " + why);
}

// Creates a new file for writing beside `path`, named `path`.tmp.<pid>.<n>
// (O_EXCL: never a file that another thread or process writes), and returns
// its descriptor with its name in `name`; -1 with errno set if it cannot.
inline int create_temporary(const std::string& path, std::string& name) {
  static std::atomic<std::uint64_t> counter{0};
  for (int attempt = 0;; ++attempt) {
    name = path + ".tmp." + std::to_string(::getpid()) + "." +
           std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): POSIX open
    const int fd =
        ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY,
               0666);  // as std::ofstream: the umask applies
    if (fd >= 0 || errno != EEXIST || attempt == 100) return fd;
  }
}

// Writes all of `text` to `fd` and flushes it to disk; returns 0, or the
// errno value of the call that failed.
inline int write_and_sync(int fd, std::string_view text) {
  while (!text.empty()) {
    const ::ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return ::fsync(fd) == 0 ? 0 : errno;
}

// Writes `text` to `path` through a temporary file of its own and a rename.
inline void write_atomically(const std::string& path, const std::string& text) {
  if (text.size() > kMaxProfileBytes)
    fail_to_write(path, too_large(text.size()));
  std::string temporary;
  FileDescriptor file(create_temporary(path, temporary));
  if (file.get() < 0) fail_to_write(path, os_error(errno));
  int error = write_and_sync(file.get(), text);
  if (file.close() != 0 && error == 0) error = errno;
  if (error == 0 && std::rename(temporary.c_str(), path.c_str()) != 0) {
    error = errno;
  }
  if (error != 0) {
    ::unlink(temporary.c_str());
    fail_to_write(path, os_error(error));
  }
}

// Reads `fd` into `text`: at most kMaxProfileBytes and one byte more (which
// says the file is too large), whatever its size said (files grow), with
// room for `expected` bytes at first. Returns 0, or the errno value of the
// read that failed.
inline int read_bounded(int fd, std::size_t expected, std::string& text) {
  text.resize(expected + 1);
  std::size_t length = 0;
  for (;;) {
    if (length == text.size()) {
      if (length > kMaxProfileBytes) break;
      text.resize(std::min(2 * length, kMaxProfileBytes + 1));
    }
    const ::ssize_t n = ::read(fd, &text[length], text.size() - length);
    if (n == 0) break;
    if (n < 0 && errno != EINTR) return errno;
    if (n > 0) length += static_cast<std::size_t>(n);
  }
  text.resize(length);
  return 0;
}

// The size of the open file `fd` now, or 0 if it cannot be known.
inline std::uint64_t current_size(int fd) noexcept {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && st.st_size > 0
             ? static_cast<std::uint64_t>(st.st_size)
             : 0;
}

// Opens the regular file at `path` for reading, with its status in `st`:
// returns its descriptor, or -1 with `why` saying what is wrong (empty if
// there is no file). The type is checked before open(), which would wait for
// a writer on a FIFO, and again on the descriptor, which O_NONBLOCK keeps
// from waiting if a FIFO took the file's place in between. (On a regular
// file, O_NONBLOCK changes nothing.)
inline int open_regular(const std::string& path, struct stat& st,
                        std::string& why) {
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) why = os_error(errno);
    return -1;
  }
  if (const char* what = not_regular(st)) {
    why = what;
    return -1;
  }
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): POSIX open
  FileDescriptor file(
      ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (file.get() < 0 || ::fstat(file.get(), &st) != 0) {
    if (errno != ENOENT) why = os_error(errno);
    return -1;
  }
  if (const char* what = not_regular(st)) {
    why = what;
    return -1;
  }
  return file.release();
}

// Reads the regular file at `path`, at most kMaxProfileBytes, into `text`,
// without waiting on a FIFO or a device. Returns true if it did; false with
// `why` empty if there is no file, or saying what is wrong.
inline bool read_profile_file(const std::string& path, std::string& text,
                              std::string& why) {
  struct stat st {};
  const FileDescriptor file(open_regular(path, st, why));
  if (file.get() < 0) return false;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > kMaxProfileBytes) {
    why = too_large(size);
    return false;
  }
  if (const int error = read_bounded(file.get(), size, text); error != 0) {
    why = os_error(error);
    return false;
  }
  if (text.size() > kMaxProfileBytes) {  // it grew
    why = too_large(
        std::max<std::uint64_t>(text.size(), current_size(file.get())));
    return false;
  }
  return true;
}

// One entry a profile asks for.
struct ProfileWish {
  std::string name;
  double uses = 0;
  double order = 0;
};

// Reads one element of a profile's "entries" (the first of each member
// counts, as everywhere in the profile); throws LazyError saying what is
// wrong.
inline ProfileWish read_wish(JsonReader& r) {
  using Kind = JsonReader::Kind;
  if (r.peek() != Kind::object) throw_error<LazyError>("an entry has no name");
  ProfileWish w;
  bool named = false;
  bool has_uses = false;
  bool has_order = false;
  std::string key;
  r.begin_object();
  while (r.next_member(key)) {
    const Kind kind = r.peek();
    if (key == "name" && !named && kind == Kind::string) {
      w.name = r.read_string();
      named = true;
    } else if (key == "uses" && !has_uses && kind == Kind::number) {
      w.uses = r.read_number();
      has_uses = true;
    } else if (key == "order" && !has_order && kind == Kind::number) {
      w.order = r.read_number();
      has_order = true;
    } else {
      r.skip_value();
    }
  }
  if (!named) throw_error<LazyError>("an entry has no name");
  return w;
}

// Reads the members of a profile's top object (the reader is at its `{`)
// and its entries into `wishes`; returns whether it is a lazyload profile.
inline bool read_profile_object(JsonReader& r,
                                std::vector<ProfileWish>& wishes) {
  using Kind = JsonReader::Kind;
  bool seen_format = false;
  bool seen_entries = false;
  bool is_profile = false;
  bool has_entries = false;
  std::string key;
  r.begin_object();
  while (r.next_member(key)) {
    if (key == "format" && !seen_format && r.peek() == Kind::string) {
      is_profile = r.read_string() == "lazyload-profile";
    } else if (key == "entries" && !seen_entries && r.peek() == Kind::array) {
      has_entries = true;
      r.begin_array();
      while (r.next_item()) wishes.push_back(read_wish(r));
    } else {
      r.skip_value();
    }
    seen_format |= key == "format";
    seen_entries |= key == "entries";
  }
  return is_profile && has_entries;
}

// Parses a profile's text; throws LazyError saying what is wrong. Keeps only
// the wishes: memory of at most about twelve times the text's size with the
// report's lists (4 MiB of the shortest entries, `{"name":""}`, make 350,000
// wishes: 50 MB peak RSS, all names unknown).
inline std::vector<ProfileWish> parse_profile(std::string_view text) {
  JsonReader r(text);
  std::vector<ProfileWish> wishes;
  bool is_profile = false;
  if (r.peek() == JsonReader::Kind::object) {
    is_profile = read_profile_object(r, wishes);
  } else {
    r.skip_value();
  }
  r.end();
  if (!is_profile) throw_error<LazyError>("not a lazyload profile");
  // The most used first; among equals, the one that loaded first.
  std::stable_sort(wishes.begin(), wishes.end(),
                   [](const ProfileWish& a, const ProfileWish& b) {
                     return a.uses != b.uses ? a.uses > b.uses
                                             : a.order < b.order;
                   });
  return wishes;
}

// Queues each wish that names an entry not loaded or loading.
inline void queue_wishes(LazyRegistry& registry,
                         const std::vector<ProfileWish>& wishes,
                         ProfileReport& report) {
  for (const ProfileWish& w : wishes) {
    if (!registry.contains(w.name)) {
      report.unknown.push_back(w.name);
      continue;
    }
    const Status s = registry.entry(w.name).status();
    if (s != Status::unloaded && s != Status::failed) continue;
    registry.load_async(w.name);  // the future is not needed
    report.queued.push_back(w.name);
  }
}

// What the deprecated LazyRegistry::save_profile() and preload_profile()
// call.
template <class Path> struct ProfileAccess {
  static void save(const LazyRegistry& registry, const Path& path) {
    lazyload::save_profile(registry, std::string(path));
  }
  static ProfileReport preload(LazyRegistry& registry, const Path& path) {
    return lazyload::preload_profile(registry, std::string(path));
  }
};

}  // namespace detail

inline void save_profile(const LazyRegistry& registry,
                         const std::string& path) {
  detail::write_atomically(path, detail::profile_text(registry.snapshot()));
}

inline ProfileReport preload_profile(LazyRegistry& registry,
                                     const std::string& path) {
  ProfileReport report;
  std::string text;
  std::string why;
  if (!detail::read_profile_file(path, text, why)) {
    report.found = !why.empty();  // else no profile yet: nothing to warm
    if (report.found) {
      report.error =
          "lazyload: cannot read profile " + detail::quoted(path) + ": " + why;
    }
    return report;
  }
  report.found = true;
  std::vector<detail::ProfileWish> wishes;
  try {
    wishes = detail::parse_profile(text);
  } catch (const LazyError& e) {
    report.error = "lazyload: profile " + detail::quoted(path) +
                   " is corrupt: " + e.what();
    return report;
  }
  detail::queue_wishes(registry, wishes, report);
  return report;
}

}  // namespace lazyload

#endif  // LAZYLOAD_PROFILE_HPP_
