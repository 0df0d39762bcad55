// lazyload/shared_library.hpp
//
// `LazyLibrary`, a shared library opened on first use, and
// `LazySymbol<Signature>`, a function from it resolved on first call and
// then called like the function itself. `SharedLibrary` is an open library
// and `open_library(path)` a loader that opens one, so a library is a
// `LazyHandle<SharedLibrary>` and registers in a `LazyRegistry` like any
// other entry (status, priority, background loading, snapshots).
//
// Example Usage:
//
//   lazyload::LazyLibrary tensor{"/opt/plugins/libtensor.so"};  // not opened
//   lazyload::LazySymbol<int(int)> twice{tensor, "twice"};       // not either
//   int y = twice(21);  // opens the library, resolves "twice", calls it
//
//   // In a registry: background loading by priority, status, errors.
//   registry.add("vision", lazyload::open_library(path), options);
//   auto& handle = registry.handle<lazyload::SharedLibrary>("vision");
//   lazyload::LazyLibrary vision{handle};
//   lazyload::LazySymbol<int(int, int)> detect{vision, "vision_detect"};
//
// Rationale:
//
// * The unload rule: a library is closed only when no symbol from it can
//   still be called. A symbol, once resolved, holds a lease on the library
//   (`LazyHandle::lease()`), so `unload()` gives up the handle's ownership at
//   once and never waits, and `dlclose` runs when the last resolved symbol
//   lets go (`LazySymbol::reset()` or its destruction). A registry never
//   evicts a library that a resolved symbol holds, for the same reason.
// * The fast path of a call is what a call through a function pointer costs
//   plus an acquire load and a branch: the pointer is published with a
//   release store once resolved, and everything else (opening the library,
//   dlsym, the errors) lives on the slow path, kept out of line.
// * `RTLD_NOW | RTLD_LOCAL` by default: an unresolved dependency then fails
//   the load, in the background if the library loads there, not the first
//   call that happens to need it; and plugins do not leak their symbols into
//   each other.
// * dlerror() belongs to the dlopen, dlsym or dlclose just before it; not
//   every C library keeps it per thread, so each pair runs under one
//   process-wide lock. (glibc also serializes dlopen, dlsym and library
//   initializers under its own loader lock: libraries loaded on several
//   background workers initialize one at a time.)
// * A library's initializers and finalizers run inside dlopen and dlclose,
//   under the dynamic loader's lock and lazyload's own. Two things follow.
//   An initializer must not throw: the process aborts (std::terminate) or,
//   depending on how the library was built, the exception escapes dlopen
//   with the dynamic loader's state undefined; lazyload cannot make either
//   safe. Do work that can fail in an init function called after the
//   library is open, through a LazySymbol. And an initializer (or finalizer) that waits for a
//   load another thread is running deadlocks as soon as that load needs the
//   loader's lock (opening a library, resolving a symbol), so for libraries
//   lazyload opens, such a wait throws CycleError at once instead; loading
//   an entry nobody else is loading runs its loader on the spot and is fine.
//   A library opened with a plain dlopen gets no such check.
// * `LazyLibrary` and `LazySymbol` model neither MoveConstructible nor
//   CopyConstructible, like `LazyHandle`: a symbol holds its library's
//   address, and concurrent callers hold the symbol's.
//
// POSIX only (dlopen); link `lazyload::library`, which adds `-ldl` where the
// platform needs it. Not part of the umbrella header `lazyload.hpp`.

#ifndef LAZYLOAD_SHARED_LIBRARY_HPP_
#define LAZYLOAD_SHARED_LIBRARY_HPP_

#include <dlfcn.h>  // dlopen, dlsym, dlclose, dlerror, RTLD_*

#include <atomic>       // std::atomic
#include <cstring>      // std::memcpy
#include <exception>    // std::throw_with_nested
#include <memory>       // std::shared_ptr, std::unique_ptr
#include <mutex>        // std::mutex, std::recursive_mutex, std::lock_guard
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <utility>      // std::exchange, std::forward, std::move

#include "detail/config.hpp"
#include "detail/loader.hpp"
#include "detail/throw.hpp"
#include "detail/wait_graph.hpp"
#include "error.hpp"
#include "handle.hpp"
#include "progress.hpp"
#include "status.hpp"

namespace lazyload {

// kDefaultLibraryFlags
//
// The dlopen flags a library is opened with unless told otherwise: resolve
// every undefined symbol at once (RTLD_NOW), and keep the library's symbols
// out of the global scope (RTLD_LOCAL).
inline constexpr int kDefaultLibraryFlags = RTLD_NOW | RTLD_LOCAL;

// SharedLibrary
//
// An open shared library: opened by the constructor (dlopen), closed by the
// destructor (dlclose). Move-only. This type is thread-compatible: its const
// members may be called concurrently.
class SharedLibrary {
 public:
  // SharedLibrary::SharedLibrary()
  //
  // Opens `path` with dlopen `flags`. A path with a slash is opened as
  // given; a bare name ("libm.so.6") is searched for as dlopen searches
  // (LD_LIBRARY_PATH, the cache, the default directories). Opening runs the
  // library's initializers, which must not throw (the process aborts, or the
  // exception escapes dlopen with the loader's state undefined). Inside
  // them, a wait for a load another thread runs throws CycleError (it could
  // deadlock on the loader's lock); the initializer must catch it, for the
  // same reason.
  // Thread safety: none needed.
  // Throws: LoadError naming the library with dlerror()'s text, such as
  // "lazyload: cannot open library 'libfoo.so': libfoo.so: cannot open shared
  // object file: No such file or directory".
  // Invalidates: none.
  explicit SharedLibrary(std::string path, int flags = kDefaultLibraryFlags);

  // SharedLibrary::SharedLibrary(SharedLibrary&&), operator=(SharedLibrary&&)
  //
  // Takes over `other`'s open library, leaving `other` closed (a null
  // native_handle()); assignment first closes the library this one held.
  // Thread safety: no other member of either library may run meanwhile.
  // Throws: none.
  // Invalidates: on assignment, every symbol address from this library.
  SharedLibrary(SharedLibrary&& other) noexcept
      : path_(std::move(other.path_)),
        native_(std::exchange(other.native_, nullptr)) {}
  SharedLibrary& operator=(SharedLibrary&& other) noexcept {
    if (this != &other) {
      close();
      path_ = std::move(other.path_);
      native_ = std::exchange(other.native_, nullptr);
    }
    return *this;
  }
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  // SharedLibrary::~SharedLibrary()
  //
  // Closes the library (dlclose). The C library unmaps it, running its
  // finalizers, once every dlopen of it has been closed; inside them, as
  // inside initializers, a wait for another thread's load throws CycleError.
  // Thread safety: no other member may run during destruction.
  // Throws: none.
  // Invalidates: every symbol address taken from this library.
  ~SharedLibrary() { close(); }

  // SharedLibrary::symbol()
  //
  // Returns the address of the symbol `name` (dlsym), never null.
  // Thread safety: safe to call concurrently.
  // Throws: LoadError naming the symbol and the library with dlerror()'s
  // text, such as "lazyload: symbol 'matmul' not found in library
  // 'libfoo.so': /opt/libfoo.so: undefined symbol: matmul".
  // Invalidates: none; the address is valid until the library is closed.
  void* symbol(const char* name) const;

  // SharedLibrary::path(), native_handle()
  //
  // The path (or name) the library was opened with, and dlopen's handle
  // (null only in a moved-from library).
  // Thread safety: safe to call concurrently. Throws: none.
  // Invalidates: none.
  const std::string& path() const noexcept { return path_; }
  void* native_handle() const noexcept { return native_; }

 private:
  void close() noexcept;

  std::string path_;
  void* native_ = nullptr;
};

// open_library()
//
// Returns a loader that opens `path` with dlopen `flags`, for LazyHandle or
// LazyRegistry::add(): `LazyHandle lib{open_library("libm.so.6")}` is a
// `LazyHandle<SharedLibrary>`.
// Thread safety: safe to call concurrently.
// Throws: std::bad_alloc only; the loader throws what SharedLibrary's
// constructor throws, which the handle turns into a LoadError such as
// "lazyload: loading 'tensor' failed: cannot open library 'libtensor.so':
// libtensor.so: cannot open shared object file: No such file or directory".
// Invalidates: none.
inline auto open_library(std::string path, int flags = kDefaultLibraryFlags) {
  return [path = std::move(path), flags](Progress& progress) {
    auto library = std::make_unique<SharedLibrary>(path, flags);
    progress.report(1.0, "opened");
    return library;
  };
}

// LazyLibrary
//
// A shared library opened on first use: either its own handle, created from
// a path, or a view of a `LazyHandle<SharedLibrary>` owned elsewhere, such
// as by a registry. Symbols are taken from it with `LazySymbol`.
// This class is thread-safe. It is neither copyable nor movable.
//
//   lazyload::LazyLibrary m{"libm.so.6"};
//   lazyload::LazySymbol<double(double)> cosine{m, "cos"};
//   cosine(0.0);  // opens libm, resolves cos, calls it
class LazyLibrary {
 public:
  // LazyLibrary::LazyLibrary(std::string, int)
  //
  // Creates an unopened library for `path` (a path or a bare name, as for
  // SharedLibrary), opened with dlopen `flags` on first use. Its handle is
  // named after the path, which errors and status then show.
  // Thread safety: none needed. Throws: std::bad_alloc only.
  // Invalidates: none.
  explicit LazyLibrary(std::string path, int flags = kDefaultLibraryFlags)
      : own_(std::in_place, path, open_library(path, flags)), handle_(&*own_) {}

  // LazyLibrary::LazyLibrary(LazyHandle<SharedLibrary>&)
  //
  // Refers to `handle`, which must outlive this object, such as
  // `registry.handle<SharedLibrary>("tensor")`; status, loading and unloading
  // are the handle's own.
  // Thread safety: none needed. Throws: none. Invalidates: none.
  explicit LazyLibrary(LazyHandle<SharedLibrary>& handle) noexcept
      : handle_(&handle) {}

  LazyLibrary(const LazyLibrary&) = delete;
  LazyLibrary& operator=(const LazyLibrary&) = delete;

  // LazyLibrary::~LazyLibrary()
  //
  // Destroys the library's own handle, which closes the library unless a
  // resolved LazySymbol or a lease still holds it; a view leaves the handle
  // it refers to alone.
  // Thread safety: no other member, and no symbol made from this library,
  // may be in use during destruction.
  // Throws: none.
  // Invalidates: the reference from handle(), and, for a library with its
  // own handle, every symbol address taken through it without a lease.
  ~LazyLibrary() = default;

  // LazyLibrary::name(), status(), is_loaded()
  //
  // The handle's name, status and whether it holds the library open now.
  // A library unloaded while resolved symbols hold it shows `unloaded`
  // although it is still mapped.
  // Thread safety: safe to call concurrently. Throws: none.
  // Invalidates: none.
  const std::string& name() const noexcept { return handle_->name(); }
  Status status() const noexcept { return handle_->status(); }
  bool is_loaded() const noexcept { return handle_->is_loaded(); }

  // LazyLibrary::load()
  //
  // Opens the library if it is not open.
  // Thread safety: safe to call concurrently; one caller opens it, the
  // others wait. Throws: LoadError naming the library with dlerror()'s text.
  // Invalidates: none.
  void load() { handle_->load(); }

  // LazyLibrary::unload()
  //
  // Gives up the handle's ownership of the library, as LazyHandle::unload().
  // The library is closed now if no resolved LazySymbol holds it, else when
  // the last one is reset or destroyed: it is closed only when no symbol
  // from it can still be called. The next use opens it again.
  // Thread safety: safe to call concurrently with every member, and with
  // calls through symbols.
  // Throws: none.
  // Invalidates: references from get() and addresses from symbol() taken
  // without a lease. Resolved symbols and leases stay valid.
  void unload() noexcept { handle_->unload(); }

  // LazyLibrary::lease()
  //
  // Returns shared ownership of the open library, opening it if needed; it
  // stays open as long as the lease does, across unload().
  // Thread safety: safe to call concurrently.
  // Throws: what load() throws. Invalidates: none.
  std::shared_ptr<SharedLibrary> lease() { return handle_->lease(); }

  // LazyLibrary::handle()
  //
  // Returns the underlying handle: statistics, wait_for(), and so on.
  // Thread safety: safe to call concurrently. Throws: none.
  // Invalidates: none; the handle lives as long as this object (or, for a
  // view, as long as its owner).
  LazyHandle<SharedLibrary>& handle() const noexcept { return *handle_; }

 private:
  std::optional<LazyHandle<SharedLibrary>> own_;  // empty for a view
  LazyHandle<SharedLibrary>* const handle_;
};

// LazySymbol<Signature>
//
// A function `Signature` (such as `int(int)`) from a lazily opened library,
// resolved on first call and then called like the function itself:
//
//   lazyload::LazySymbol<int(int)> twice{lib, "twice"};
//   twice(21);  // first call: opens lib if needed, dlsym, then calls
//   twice(4);   // an acquire load, a branch and the indirect call
//
// The symbol must really have that signature (dlsym cannot check it), with
// C linkage or its mangled name. Once resolved, the symbol holds a lease on
// its library, so the library stays open, across `unload()`, until reset()
// or destruction. The library (or handle) must outlive every use of the
// symbol other than its destruction.
// This class is thread-safe, except for reset() (see there). It is neither
// copyable nor movable.
template <class Signature> class LazySymbol {
  static_assert(detail::kDependentFalse<Signature>,
                "LazySymbol<Signature>: Signature must be a function type "
                "without noexcept or C varargs, such as LazySymbol<int(int)>");

 public:
  // LazySymbol::LazySymbol(A&&...)
  //
  // Accepts any arguments, so that the static_assert is the only error.
  // Thread safety: none. Throws: none. Invalidates: none.
  template <class... A> explicit LazySymbol(A&&... /*args*/) {}
};

template <class R, class... Args> class LazySymbol<R(Args...)> {
 public:
  using pointer = R (*)(Args...);

  // LazySymbol::LazySymbol()
  //
  // Names the function `name` in `library` (a LazyLibrary, or a
  // LazyHandle<SharedLibrary> such as a registry's). Opens and resolves
  // nothing.
  // Thread safety: none needed. Throws: std::bad_alloc only.
  // Invalidates: none.
  LazySymbol(LazyLibrary& library, std::string name)
      : handle_(&library.handle()), name_(std::move(name)) {}
  LazySymbol(LazyHandle<SharedLibrary>& library, std::string name)
      : handle_(&library), name_(std::move(name)) {}

  // LazySymbol::LazySymbol(LazyLibrary&&, std::string)
  //
  // Deleted: a temporary library would be gone before the first call.
  // Thread safety: none. Throws: none. Invalidates: none.
  LazySymbol(LazyLibrary&& library, std::string name) = delete;

  LazySymbol(const LazySymbol&) = delete;
  LazySymbol& operator=(const LazySymbol&) = delete;

  // LazySymbol::~LazySymbol()
  //
  // Releases the lease; this closes the library if it was unloaded and no
  // other symbol or lease holds it.
  // Thread safety: no call through this symbol may be running.
  // Throws: none.
  // Invalidates: pointers returned by get().
  ~LazySymbol() = default;

  // LazySymbol::operator()
  //
  // Calls the function with `args`, resolving it first on the first call
  // (opening the library if needed).
  // Thread safety: safe to call concurrently; racing first callers resolve
  // the symbol once.
  // Throws: LoadError naming the symbol, the library and dlerror()'s text
  // when the library cannot be opened or has no such symbol (the next call
  // tries again); whatever the function itself throws.
  // Invalidates: none.
  R operator()(Args... args) const {
    pointer fn = fn_.load(std::memory_order_acquire);
    if (LAZYLOAD_PREDICT_FALSE(fn == nullptr)) fn = resolve_slow();
    return fn(std::forward<Args>(args)...);
  }

  // LazySymbol::get()
  //
  // Returns the function's address, resolving it if needed.
  // Thread safety: safe to call concurrently.
  // Throws: what operator() throws when resolving.
  // Invalidates: none; the pointer is valid until reset() or destruction
  // (the symbol's lease keeps the library open until then, not longer).
  pointer get() const {
    pointer fn = fn_.load(std::memory_order_acquire);
    return fn != nullptr ? fn : resolve_slow();
  }

  // LazySymbol::is_resolved()
  //
  // Returns whether the symbol is resolved, so that a call will not open or
  // look up anything.
  // Thread safety: safe to call concurrently. Throws: none.
  // Invalidates: none.
  bool is_resolved() const noexcept {
    return fn_.load(std::memory_order_acquire) != nullptr;
  }

  // LazySymbol::reset()
  //
  // Forgets the resolved address and releases the lease, which closes the
  // library if it was unloaded and nothing else holds it. The next call
  // resolves again (opening the library again if needed).
  // Thread safety: safe to call concurrently with every member except calls
  // through this symbol and pointers from get() still in use: those may run
  // code that reset() unmaps.
  // Throws: none.
  // Invalidates: pointers returned by get().
  void reset() noexcept {
    std::shared_ptr<SharedLibrary> doomed;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_.store(nullptr, std::memory_order_release);
      doomed = std::move(lease_);
    }
    // `doomed` closes the library here, outside the lock, if it was last.
  }

  // LazySymbol::name()
  //
  // The symbol's name.
  // Thread safety: safe to call concurrently. Throws: none.
  // Invalidates: none.
  const std::string& name() const noexcept { return name_; }

 private:
  LAZYLOAD_NOINLINE pointer resolve_slow() const;

  // The resolved function; the fast path reads only this.
  mutable std::atomic<pointer> fn_{nullptr};
  LazyHandle<SharedLibrary>* const handle_;
  const std::string name_;
  mutable std::mutex mutex_;
  // Keeps the library open while fn_ may be called.
  mutable std::shared_ptr<SharedLibrary> lease_;  // guarded by mutex_
};

// End of public interfaces.
// Implementation details follow.

namespace detail {

// The one lock under which every dlopen, dlsym and dlclose runs together
// with the dlerror() that reads its error. Recursive, because a library's
// initializer or finalizer may itself open or close libraries. Never
// destroyed, so that libraries closed by static destructors still find it.
inline std::recursive_mutex& dl_mutex() {
  static auto* mutex = new std::recursive_mutex;  // NOLINT: leaked on purpose
  return *mutex;
}

// dlerror()'s text, or `fallback` when there is none. Call it under
// dl_mutex(), with the call whose error it reads.
inline std::string dl_error_text(const char* fallback) {
  const char* text = ::dlerror();  // NOLINT(concurrency-mt-unsafe): locked
  return text != nullptr ? std::string(text) : std::string(fallback);
}

// Converts the address dlsym returns to a function pointer (POSIX requires
// that this works; ISO C++ makes the cast conditionally supported).
template <class Fn> Fn to_function(void* address) noexcept {
  static_assert(sizeof(Fn) == sizeof(void*),
                "LazySymbol: function pointers must be the size of void*");
  Fn fn = nullptr;
  std::memcpy(&fn, &address, sizeof fn);
  return fn;
}

}  // namespace detail

inline SharedLibrary::SharedLibrary(std::string path, int flags)
    : path_(std::move(path)) {
  std::string error;
  {
    std::lock_guard<std::recursive_mutex> lock(detail::dl_mutex());
    // The initializers run inside dlopen: a wait for another thread's load
    // from there throws CycleError instead of deadlocking.
    const detail::LoaderLockScope initializers(
        path_, detail::LoaderLockScope::Code::initializer);
    native_ = ::dlopen(path_.c_str(), flags);
    if (native_ == nullptr) error = detail::dl_error_text("unknown error");
  }
  if (native_ == nullptr) {
    detail::throw_error<LoadError>("lazyload: cannot open library " +
                                   detail::quoted(path_) + ": " + error);
  }
}

inline void* SharedLibrary::symbol(const char* name) const {
  void* address = nullptr;
  std::string error;
  {
    std::lock_guard<std::recursive_mutex> lock(detail::dl_mutex());
    // A null address is an error only when dlerror() says so.
    ::dlerror();  // NOLINT(concurrency-mt-unsafe): under dl_mutex()
    address = ::dlsym(native_, name);
    if (address == nullptr) {
      error = detail::dl_error_text("the symbol's address is null");
    }
  }
  if (address == nullptr) {
    detail::throw_error<LoadError>("lazyload: symbol " + detail::quoted(name) +
                                   " not found in library " +
                                   detail::quoted(path_) + ": " + error);
  }
  return address;
}

inline void SharedLibrary::close() noexcept {
  if (native_ == nullptr) return;
  std::lock_guard<std::recursive_mutex> lock(detail::dl_mutex());
  {
    const detail::LoaderLockScope finalizers(
        path_, detail::LoaderLockScope::Code::finalizer);
    ::dlclose(native_);
  }
  // A failed dlclose leaves nothing for the next caller to read.
  ::dlerror();  // NOLINT(concurrency-mt-unsafe): under dl_mutex()
  native_ = nullptr;
}

// Resolves the symbol once however many threads race: the library is leased
// (opened if needed) without holding mutex_, so that the handle's own
// waiting and cycle detection apply; the first thread to take mutex_ then
// looks the symbol up and publishes it, the others find it published.
template <class R, class... Args>
auto LazySymbol<R(Args...)>::resolve_slow() const -> pointer {
  std::shared_ptr<SharedLibrary> library;
  try {
    library = handle_->lease();
  } catch (const CycleError&) {
    throw;
  } catch (const LoadError& e) {
    constexpr std::string_view kOwnPrefix = "lazyload: ";
    std::string_view cause(e.what());
    if (cause.substr(0, kOwnPrefix.size()) == kOwnPrefix) {
      cause.remove_prefix(kOwnPrefix.size());
    }
    std::throw_with_nested(LoadError("lazyload: cannot resolve symbol " +
                                     detail::quoted(name_) + ": " +
                                     std::string(cause)));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (pointer fn = fn_.load(std::memory_order_relaxed)) return fn;
  const auto fn = detail::to_function<pointer>(library->symbol(name_.c_str()));
  lease_ = std::move(library);
  fn_.store(fn, std::memory_order_release);
  return fn;
}

}  // namespace lazyload

#endif  // LAZYLOAD_SHARED_LIBRARY_HPP_
