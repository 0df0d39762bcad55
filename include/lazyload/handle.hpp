// lazyload/handle.hpp
//
// `LazyHandle<T>`: a value produced by a loader on first use, exactly once
// under any contention, and then read for the cost of a function-local static.
//
// Example Usage:
//
//   lazyload::LazyHandle model{"model", [] {
//     return std::make_unique<Model>("weights.bin");  // runs on first use
//   }};
//   ...
//   model->predict(x);  // the first call loads; later calls cost one load
//                       // with acquire ordering and a branch
//
// A loader returns `T`, `std::unique_ptr<T>` or `std::shared_ptr<T>`, and may
// take a `lazyload::Progress&` to report how far it has got. Class template
// argument deduction picks `T` from what the loader returns.
//
// Rationale:
//
// * Double-checked locking. The loaded fast path of `get()` is an acquire
//   load of one pointer and a branch: no lock, no shared write, no counter, no
//   allocation. Everything else (the mutex, the wait, the statistics) lives on
//   the slow path, `load_slow()`, kept out of line as absl::call_once keeps
//   CallOnceImpl.
// * The value lives behind a `std::shared_ptr`, because a lease must be able
//   to keep it alive after `unload()`. The published pointer is that
//   pointer, so the fast path still reads one word: the dependent load it adds
//   is the load of the value itself, which the caller pays anyway.
// * Failures are not cached by default: the next access retries, because the
//   things lazily loaded (files, servers, devices) come back. A cool-down
//   option rethrows a failure for a while without running the loader.
// * Waiting never deadlocks: a load that would wait for itself, on one thread
//   or across threads, throws `CycleError` naming the chain.
// * `LazyHandle` models neither MoveConstructible nor CopyConstructible, like
//   std::once_flag and folly::DelayedInit: waiting threads hold its address.

#ifndef LAZYLOAD_HANDLE_HPP_
#define LAZYLOAD_HANDLE_HPP_

#include <atomic>       // std::atomic
#include <chrono>       // std::chrono::steady_clock, system_clock
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t, std::int64_t
#include <exception>    // std::exception_ptr, std::throw_with_nested
#include <functional>   // std::function
#include <memory>       // std::shared_ptr
#include <mutex>        // std::mutex, std::unique_lock
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <thread>       // std::this_thread
#include <type_traits>  // std::remove_const_t, ...
#include <utility>      // std::move

#include "detail/config.hpp"
#include "detail/deadline.hpp"
#include "detail/loader.hpp"
#include "detail/throw.hpp"
#include "detail/type_name.hpp"
#include "detail/wait_graph.hpp"
#include "detail/wait_word.hpp"
#include "error.hpp"
#include "events.hpp"
#include "progress.hpp"
#include "status.hpp"

#if LAZYLOAD_HAS_RTTI
#  include <typeinfo>  // std::type_info
#endif
#if LAZYLOAD_HAS_FORCED_UNWIND
#  include <cxxabi.h>  // abi::__forced_unwind
#endif

namespace lazyload {

class LazyHandleBase;

namespace detail {
class HandleObserver;
class HandleAccess;
}  // namespace detail

// loader_result_t<F>
//
// The `T` of the `LazyHandle<T>` that a loader `F` makes: what `F` returns,
// without reference or const, with `std::unique_ptr` and `std::shared_ptr`
// unwrapped.
template <class F> using loader_result_t = detail::loaded_type_t<F>;

// Warmup
//
// A callable run on the fresh value before it is published, such as a first
// inference that compiles kernels: `[](Model& m) { m.predict(dummy); }`. If
// it throws, the load fails. It must name the value type in its parameter (a
// generic lambda cannot be checked against the handle's type).
// This type is thread-compatible, but not thread-safe.
class Warmup {
 public:
  // Warmup::Warmup()
  //
  // An empty warm-up, which does nothing.
  // Thread safety: none needed. Throws: none. Invalidates: none.
  Warmup() = default;

  // Warmup::Warmup(F)
  //
  // Wraps `fn`, which takes the value by reference.
  // Thread safety: none needed.
  // Throws: std::bad_alloc only. Invalidates: none.
  template <class F,
            class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Warmup>>>
  Warmup(F fn) {  // NOLINT(google-explicit-constructor): set by assignment
    using Arg = detail::first_arg_t<F>;
    if constexpr (std::is_void_v<Arg>) {
      static_assert(detail::kDependentFalse<F>,
                    "Warmup: the warm-up must take the value by reference, "
                    "such as [](Model& m) { ... }; a generic lambda cannot be "
                    "checked against the handle's type");
    } else {
      using Value = std::remove_cv_t<std::remove_reference_t<Arg>>;
      type_ = detail::type_key<Value>();
      type_name_ = &detail::type_name<Value>();
      fn_ = [fn = std::move(fn)](void* value) mutable {
        fn(*static_cast<Value*>(value));
      };
    }
  }

  // Warmup::operator bool()
  //
  // Returns whether a warm-up is set.
  // Thread safety: none needed. Throws: none. Invalidates: none.
  explicit operator bool() const noexcept { return static_cast<bool>(fn_); }

 private:
  friend class LazyHandleBase;

  std::function<void(void*)> fn_;
  detail::TypeKey type_ = nullptr;
  const std::string* type_name_ = nullptr;
};

// HandleOptions
//
// How a handle loads. An aggregate; with C++20, designated initializers read
// well: `{.warmup = [](Model& m) { m.run(); }, .failure_cooldown = 5s}`.
struct HandleOptions {
  // Runs on the fresh value before it is published; part of the load.
  Warmup warmup;
  // After a failure, accesses within this period rethrow it without running
  // the loader. Zero (the default) retries at once.
  std::chrono::steady_clock::duration failure_cooldown{};
  // A load (or reload) running longer than this is asked to stop
  // (Progress::stop_requested() turns true) and publishes nothing; its
  // callers get a LoadError saying it timed out. Zero (the default): none.
  std::chrono::steady_clock::duration load_timeout{};
};

// HandleStats
//
// What a handle has recorded, as a plain value read at one moment.
// The names and units are the ones EntrySnapshot, the status JSON, the table
// and the Prometheus exposition use for the same facts.
LAZYLOAD_SUPPRESS_DEPRECATED_BEGIN  // the implicit members copy the old names
    struct HandleStats {
  std::string name;
  Status status = Status::unloaded;
  std::uint64_t loads = 0;     // loads that succeeded
  std::uint64_t failures = 0;  // loads that failed
  std::uint64_t uses = 0;      // successful loads plus leases
  // The last load's loader plus warm-up, success or failure, in seconds.
  double load_time = 0.0;
  // When the last successful load finished; the epoch when there was none.
  std::chrono::system_clock::time_point last_loaded_at{};
  std::string error;           // the last failed load's message; empty if none
  double progress = 0.0;       // the current or last load's fraction, 0 to 1
  std::string stage;           // the current or last load's reported stage
  std::size_t size_bytes = 0;  // bytes, from Progress::set_size(); 0: unknown
  bool reloading = false;      // a reload() runs while the value serves
  double reload_progress = 0.0;  // that reload's fraction, 0 to 1

  // Deprecated names of the fields above, filled with the same facts; they
  // go in the next minor release.
  [[deprecated("use load_time (seconds)")]] std::chrono::steady_clock::duration
      last_load_time{};
  [[deprecated("use error")]] std::string last_error;
  [[deprecated("use size_bytes")]] std::size_t reported_size = 0;
};
LAZYLOAD_SUPPRESS_DEPRECATED_END

// LazyHandleBase
//
// The part of a handle that does not depend on `T`: status, statistics,
// loading, waiting and unloading. A registry hands it out for entries whose
// type the caller does not know. Create handles as `LazyHandle<T>`.
// This class is thread-safe. It is neither copyable nor movable.
class LazyHandleBase {
 public:
  LazyHandleBase(const LazyHandleBase&) = delete;
  LazyHandleBase& operator=(const LazyHandleBase&) = delete;

  // LazyHandleBase::~LazyHandleBase(), and so LazyHandle::~LazyHandle()
  //
  // Destroys the handle and its ownership of the value: the value is
  // destroyed here unless a lease holds it, in which case the last lease
  // destroys it.
  // Thread safety: no other member may be running or called during or after
  // destruction, and no load may be in progress.
  // Throws: none.
  // Invalidates: the value unless leased: every reference and pointer from
  // get(), operator*, operator-> and try_get(). Leases stay valid.
  virtual ~LazyHandleBase() = default;

  // LazyHandleBase::name()
  //
  // Returns the name given at construction, empty for an unnamed handle.
  // Thread safety: safe to call concurrently. Throws: none.
  // Invalidates: none; the reference lives as long as the handle.
  const std::string& name() const noexcept { return cold_->site_.name; }

  // LazyHandleBase::status()
  //
  // Returns the current status.
  // Thread safety: safe to call concurrently; the answer may be stale by the
  // time it is read. Throws: none. Invalidates: none.
  Status status() const noexcept {
    return status_.load(std::memory_order_acquire);
  }

  // LazyHandleBase::is_loaded()
  //
  // Returns whether a value is published now.
  // Thread safety: safe to call concurrently. Throws: none. Invalidates: none.
  bool is_loaded() const noexcept {
    return value_.load(std::memory_order_acquire) != nullptr;
  }

  // LazyHandleBase::load()
  //
  // Loads the value if it is not loaded, as `get()` does, without returning
  // it.
  // Thread safety: safe to call concurrently; one caller runs the loader, the
  // others wait for it.
  // Throws: LoadError naming the entry, with the loader's exception nested;
  // CycleError when the load would wait for itself.
  // Invalidates: none.
  void load() {
    if (LAZYLOAD_PREDICT_FALSE(!is_loaded())) load_slow();
  }

  // LazyHandleBase::unload()
  //
  // Drops the handle's ownership of the value; the status goes back to
  // `unloaded` and the next access loads again. If no lease holds the value it
  // is destroyed before unload() returns; otherwise the last lease destroys
  // it. A queued entry is unqueued, a failed one forgets its failure. A load
  // or reload in progress is cancelled, as by cancel(): it publishes nothing,
  // and the status turns `unloaded` when its loader returns.
  // Thread safety: safe to call concurrently with every member.
  // Throws: none.
  // Invalidates: every reference and pointer obtained from get(), operator*,
  // operator-> and try_get(), like a container's clear(). Leases stay valid.
  void unload() noexcept;

  // LazyHandleBase::reload()
  //
  // Loads a new value with the handle's loader while get(), lease() and
  // try_lease() keep returning the current one, then publishes it in one step
  // (after its warm-up) and releases the old value, which is destroyed once
  // its last lease ends. Concurrent calls share one reload. If the new load
  // fails or is cancelled, the current value keeps serving (status `loaded`;
  // a failure is counted and becomes the last error); an unload() during the
  // reload cancels it. On a handle that is not loaded, reload() is load().
  // Thread safety: safe to call concurrently with every member.
  // Throws: LoadError naming the entry (the current value still serves);
  // LoadCancelled if the reload was cancelled; CycleError as load();
  // std::bad_alloc if the first reload cannot allocate its state.
  // Invalidates: when the new value is published, every reference and
  // pointer from get(), operator*, operator-> and try_get() to the old
  // value, as unload() does. Leases stay valid.
  void reload();

  // LazyHandleBase::cancel()
  //
  // Asks the load or reload in progress to stop, and returns whether there
  // was one. The loader sees Progress::stop_requested(); whatever it returns
  // is not published. Its caller and every waiter get LoadCancelled, and the
  // status goes back to `unloaded` (or stays `loaded` for a reload); the next
  // access loads again. A queued entry is not running: unload() unqueues it.
  // Thread safety: safe to call concurrently with every member.
  // Throws: none. Invalidates: none.
  bool cancel() noexcept;

  // LazyHandleBase::wait_for()
  //
  // Waits while another thread loads the value (or it is queued), at most
  // `timeout`; never starts a load. Returns is_loaded() at return.
  // Thread safety: safe to call concurrently.
  // Throws: none beyond std::system_error from the mutex.
  // Invalidates: none.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
    const auto settled = [this] {
      const Status s = status_.load(std::memory_order_relaxed);
      return s != Status::loading && s != Status::queued;
    };
    std::unique_lock<std::mutex> lock(cold_->mutex_);
    // A timeout past the clock's range has no deadline: it waits for ever.
    wait_locked(lock, settled, detail::deadline_after(timeout));
    return value_.load(std::memory_order_relaxed) != nullptr;
  }

  // LazyHandleBase::stats()
  //
  // Returns what the handle has recorded, read at one moment.
  // Thread safety: safe to call concurrently, also during a load.
  // Throws: std::bad_alloc only. Invalidates: none.
  HandleStats stats() const;

  // LazyHandleBase::last_load()
  //
  // Returns the record of the last finished load; `started_at` is the epoch
  // when there was none.
  // Thread safety: safe to call concurrently.
  // Throws: std::bad_alloc only. Invalidates: none.
  LoadRecord last_load() const {
    std::lock_guard<std::mutex> lock(cold_->mutex_);
    LoadRecord record;
    if (cold_->last_started_at_ != std::chrono::steady_clock::time_point{}) {
      record.name = cold_->site_.name;
    }
    record.thread = cold_->last_thread_;
    record.queued_at = cold_->last_queued_at_;
    record.started_at = cold_->last_started_at_;
    record.finished_at = cold_->last_finished_at_;
    record.ok = cold_->last_ok_;
    return record;
  }

  // LazyHandleBase::type_name()
  //
  // Returns the value type's name as the compiler spells it ("std::string",
  // "demo::Resource"), computed once per type.
  // Thread safety: safe to call concurrently. Throws: none.
  // Invalidates: none; the reference lives for the program's lifetime.
  virtual const std::string& type_name() const noexcept = 0;

  // LazyHandleBase::holds<T>()
  //
  // Returns whether the value type is exactly `T`; needs no RTTI.
  // Thread safety: safe to call concurrently. Throws: none. Invalidates: none.
  template <class T> bool holds() const noexcept {
    return type_key() == detail::type_key<T>();
  }

#if LAZYLOAD_HAS_RTTI
  // LazyHandleBase::type()
  //
  // Returns the type of the value, `typeid(T)` for a `LazyHandle<T>`. Only
  // with RTTI (see LAZYLOAD_HAS_RTTI); type_name() and holds<T>() need none.
  // Thread safety: safe to call concurrently. Throws: none. Invalidates: none.
  virtual const std::type_info& type() const noexcept = 0;
#endif

 protected:
  // LazyHandleBase::LazyHandleBase()
  //
  // For LazyHandle<T>: names the handle and keeps its options.
  // Thread safety: none needed (construction).
  // Throws: std::bad_alloc only. Invalidates: none.
  LazyHandleBase(std::string name, HandleOptions options);

  // Checks, at construction, that a warm-up takes the handle's value type.
  // Requires: no lock (construction). Throws: LazyError naming both types.
  template <class Value> void check_warmup() const {
    const Warmup& w = cold_->options_.warmup;
    if (w && w.type_ != detail::type_key<Value>()) {
      detail::throw_error<LazyError>(
          "lazyload: the warm-up of " + detail::quoted(cold_->site_.label()) +
          " takes " + *w.type_name_ + " but the value is " +
          detail::type_name<Value>());
    }
  }

  // The slow path of get(): loads and returns the published pointer.
  // Requires: `mutex_` not held (it takes it).
  LAZYLOAD_NOINLINE void* load_slow() {
    std::unique_lock<std::mutex> lock(cold_->mutex_);
    return acquire(lock);
  }

  // The fast part of lease() and try_lease(): shares ownership of the
  // published value, as a `std::shared_ptr<Value>`, without the mutex; null
  // when none is published or its owner is being replaced (the caller then
  // takes the mutex). One atomic addition on the gate word before the copy
  // of the owner and one after: whoever replaces the owner blocks the gate
  // and waits out the copies under way (set_owner()).
  template <class Value> std::shared_ptr<Value> share_unlocked() noexcept {
    std::shared_ptr<Value> leased;
    std::uint64_t gate = 0;
    if (!enter_lease(gate)) return leased;
    if (const std::shared_ptr<void>& owner = cold_->owner_) {
      // Aliasing straight from the owner: one reference count, not two.
      leased = std::shared_ptr<Value>(owner, static_cast<Value*>(owner.get()));
    }
    exit_lease(gate);
    if (leased) stamp_lease();
    return leased;
  }

  // The slow part of lease(): loads and shares ownership of the value.
  // Requires: `mutex_` not held (it takes it).
  std::shared_ptr<void> share();

  // try_lease(): shares ownership of the value if one is published, else
  // returns null; never loads. Requires: `mutex_` not held (it takes it).
  std::shared_ptr<void> try_share();

  // The published value; the fast path reads only this.
  std::atomic<void*> value_{nullptr};

 private:
  // The one door a registry uses into the handle (see detail::HandleAccess).
  friend class detail::HandleAccess;

  // What a finished load produced: the value, or the failure and its
  // message; `cancelled` when it was asked to stop (not a failure).
  struct Outcome {
    std::shared_ptr<void> value;
    std::exception_ptr failure;
    std::string message;
    bool cancelled = false;
  };

  // Runs the loader; returns the value, never null.
  virtual std::shared_ptr<void> produce(Progress& progress) = 0;
  // detail::type_key<T>() of the value type.
  virtual detail::TypeKey type_key() const noexcept = 0;

  // Requires: `mutex_` held through `lock`; returns with it held. Sleeps,
  // without the mutex, until `done()` (checked under it) holds or the
  // deadline passes; returns done().
  template <class Pred>
  bool wait_locked(std::unique_lock<std::mutex>& lock, Pred done,
                   const detail::WaitDeadline& deadline = {}) const {
    while (!done()) {
      const std::uint32_t seen = cold_->changes_.load();
      lock.unlock();
      const bool changed = cold_->changes_.wait(seen, deadline);
      lock.lock();
      if (!changed) return done();  // the deadline passed
    }
    return true;
  }

  // The steps of a load, in order. Each says which lock it expects.
  void* acquire(std::unique_lock<std::mutex>& lock);
  void* wait_for_running_load(std::unique_lock<std::mutex>& lock);
  bool cooling_down() const;
  void run_load(std::unique_lock<std::mutex>& lock);
  LoadRecord begin_load(std::unique_lock<std::mutex>& lock);
  Outcome run_loader(LoadRecord& record, Progress& progress,
                     detail::LoadSite& site);
  Outcome run_guarded(std::unique_lock<std::mutex>& lock, LoadRecord& record,
                      bool reload);
  void settle_stop(const Progress& progress, Outcome& outcome) const;
  void finish_load(const LoadRecord& record, Outcome& outcome);
  std::shared_ptr<void> publish(const std::shared_ptr<void>& value);
  void report_load(const LoadRecord& record, const Outcome& outcome,
                   bool reload = false) noexcept;
  std::exception_ptr wrap_failure(std::string& message, bool& cancelled) const;
  std::exception_ptr stop_failure(const std::exception_ptr& cause,
                                  bool cancelled, std::string& message) const;
  std::string load_prefix() const;

  // The steps of a reload, which run beside the published value.
  void wait_for_running_reload(std::unique_lock<std::mutex>& lock);
  void run_reload(std::unique_lock<std::mutex>& lock);
  std::shared_ptr<void> finish_reload(const LoadRecord& record,
                                      Outcome& outcome);

  // Unloading: detach the value (mutex_ held), then destroy it outside.
  std::shared_ptr<void> detach_value(bool leases_blocked = false);
  bool evict_if_unused() noexcept;
  // Counts a use; atomics only, so callable with or without `mutex_`.
  void touch() noexcept;

  // The leases taken without the mutex (see share_unlocked()).
  static constexpr std::uint64_t kLeaseActive = 1;
  static constexpr std::uint64_t kLeaseUse = std::uint64_t{1} << 24;
  static constexpr std::uint64_t kLeaseActiveMask = kLeaseUse - 1;
  static constexpr std::uint64_t kLeaseFold = std::uint64_t{1} << 62;
  static constexpr std::uint64_t kLeaseBlocked = std::uint64_t{1} << 63;
  bool enter_lease(std::uint64_t& gate) noexcept;
  void exit_lease(std::uint64_t gate) noexcept;
  void block_leases() noexcept;
  void unblock_leases() noexcept;
  std::shared_ptr<void> set_owner(std::shared_ptr<void> value) noexcept;
  void fold_lease_uses() noexcept;
  void stamp_lease() noexcept;
  void stamp_use() noexcept;

  // Reports to the observer, without the mutex held.
  void notify(Status from, Status to,
              std::chrono::steady_clock::duration duration = {},
              std::string_view error = {}) noexcept;
  void notify_eviction() noexcept;
  void notify_change(const StatusChange& change) noexcept;

  // For a registry: queue for background loading, load if still queued.
  // Requires: `mutex_` not held (each takes it).
  bool mark_queued();
  bool load_if_queued();

  // Everything but the published value and the status lives out of line,
  // in one allocation made at construction, so that a handle is a few words
  // (a registry of a million entries pays for the state it uses) and the
  // loaded get() touches one cache line of the handle.
  struct Cold {
    Cold(std::string name, HandleOptions options)
        : options_(std::move(options)) {
      site_.name = std::move(name);
    }

    mutable std::mutex mutex_;
    // Bumped, under mutex_, whenever a load or reload ends, a queued handle
    // fails or a value is detached: what every waiter sleeps on.
    mutable detail::WaitWord changes_;
    detail::LoadSite site_;  // the name, and who loads now
    // When the value was last leased (or loaded): a process-wide sequence
    // number, for exact least-recently-used order, and steady_clock ticks, for
    // idle timeouts.
    std::atomic<std::uint64_t> last_used_seq_{0};
    std::atomic<std::int64_t> last_used_at_{0};
    std::atomic<std::uint64_t> uses_{0};  // loads plus leases taken locked
    // The leases taken without the mutex: how many copy the owner now (the
    // low bits), how many there were (kLeaseUse each) and whether the owner
    // is being replaced (kLeaseBlocked). See share_unlocked().
    std::atomic<std::uint64_t> lease_gate_{0};
    Progress progress_;
    // A reload's own load site (the same name, and who reloads now) and
    // progress, whose size counts too. Made by the first reload, under
    // mutex_, and kept: most handles are never reloaded.
    struct Reload {
      detail::LoadSite site;
      Progress progress;
    };
    std::atomic<Reload*> reload_{nullptr};
    // Requires: reload_ made (a reload runs, or ran).
    Reload& reload() const noexcept {
      return *reload_.load(std::memory_order_acquire);
    }
    // Requires: `mutex_` held. Throws: std::bad_alloc.
    Reload& make_reload() {
      if (reload_.load(std::memory_order_relaxed) == nullptr) {
        auto made = std::make_unique<Reload>();
        made->site.name = site_.name;
        reload_.store(made.release(), std::memory_order_release);
      }
      return reload();
    }
    const HandleOptions options_;
    detail::HandleObserver* observer_ = nullptr;  // set once, before any load

    // Written under mutex_ with leases blocked (set_owner()); copied by
    // leases under mutex_ or through lease_gate_.
    std::shared_ptr<void> owner_;
    std::exception_ptr failure_;           // guarded by mutex_
    std::exception_ptr last_failure_;      // guarded by mutex_; the last load's
    bool reloading_ = false;               // guarded by mutex_
    std::uint64_t reload_generation_ = 0;  // guarded by mutex_; reloads ended
    std::exception_ptr reload_failure_;    // guarded by mutex_; the last's
    std::string last_error_;               // guarded by mutex_
    std::uint64_t generation_ = 0;         // guarded by mutex_; loads finished
    std::uint64_t loads_ = 0;              // guarded by mutex_
    std::uint64_t failures_ = 0;           // guarded by mutex_
    std::chrono::steady_clock::duration last_duration_{};  // guarded by mutex_
    std::chrono::system_clock::time_point loaded_at_{};    // guarded by mutex_
    std::chrono::steady_clock::time_point failed_at_{};    // guarded by mutex_
    std::chrono::steady_clock::time_point queued_at_{};    // guarded by mutex_
    // The last finished load's record but its name: guarded by mutex_.
    std::thread::id last_thread_;
    std::chrono::steady_clock::time_point last_queued_at_{};
    std::chrono::steady_clock::time_point last_started_at_{};
    std::chrono::steady_clock::time_point last_finished_at_{};
    bool last_ok_ = false;
    void set_last_record(const LoadRecord& record) noexcept {
      last_thread_ = record.thread;
      last_queued_at_ = record.queued_at;
      last_started_at_ = record.started_at;
      last_finished_at_ = record.finished_at;
      last_ok_ = record.ok;
    }

    Cold(const Cold&) = delete;
    Cold& operator=(const Cold&) = delete;
    ~Cold() {
      const std::unique_ptr<Reload> made(
          reload_.load(std::memory_order_relaxed));
    }
  };

  std::atomic<Status> status_{Status::unloaded};  // written under mutex_
  const std::unique_ptr<Cold> cold_;
};

// LazyHandle<T>
//
// A `T` loaded on first use. This class is thread-safe: every member may be
// called concurrently. Neither copyable nor movable.
//
//   lazyload::LazyHandle<Config> config{"config", [] { return parse(path); }};
//   if (Config* c = config.try_get()) ...       // never starts a load
//   std::shared_ptr<Config> keep = config.lease();  // survives unload()
template <class T> class LazyHandle final : public LazyHandleBase {
  static_assert(std::is_object_v<T> && !std::is_array_v<T>,
                "LazyHandle<T>: T must be an object type (not a reference, "
                "function, array or void)");

 public:
  using value_type = T;

  // LazyHandle::LazyHandle(F, HandleOptions),
  // LazyHandle::LazyHandle(std::string, F, HandleOptions)
  //
  // Creates an unloaded handle around `loader`, which returns `T`,
  // `std::unique_ptr<T>` or `std::shared_ptr<T>`, and may take `Progress&`.
  // A `T` returned by value is constructed in place (it need not be copyable
  // or movable); a reference (or value) of another type that `T` is
  // constructible from makes a `T` from it: a `const U&` is copied, never
  // referred to. A raw pointer is refused: nobody would own the value.
  // The loader does not run here. The name appears in errors and status.
  // Thread safety: none needed (construction).
  // Throws: LazyError if options.warmup does not take `T`.
  // Invalidates: none.
  template <class F>
  explicit LazyHandle(F loader, HandleOptions options = {})
      : LazyHandle(std::string(), std::move(loader), std::move(options)) {}
  template <class F>
  LazyHandle(std::string name, F loader, HandleOptions options = {})
      : LazyHandleBase(std::move(name), std::move(options)) {
    using Traits = detail::LoaderTraits<F>;
    using Result = detail::LoaderResult<T, typename Traits::result>;
    if constexpr (!Traits::kCallable) {
      static_assert(detail::kDependentFalse<F>,
                    "LazyHandle: the loader must be callable with no "
                    "arguments or with lazyload::Progress&");
    } else if constexpr (std::is_void_v<typename Traits::result>) {
      static_assert(detail::kDependentFalse<F>,
                    "LazyHandle: the loader returns void; it must return T, "
                    "std::unique_ptr<T> or std::shared_ptr<T>");
    } else if constexpr (Result::kRawPointer) {
      static_assert(detail::kDependentFalse<F>,
                    "LazyHandle: the loader returns a raw pointer to T, which "
                    "nobody would own; return std::unique_ptr<T> or "
                    "std::shared_ptr<T>");
    } else if constexpr (!Result::kUsable && Result::kUniquePtrLvalue) {
      static_assert(detail::kDependentFalse<F>,
                    "LazyHandle: the loader returns a std::unique_ptr by "
                    "lvalue reference, whose ownership it cannot take; return "
                    "the std::unique_ptr<T> by value");
    } else if constexpr (!Result::kUsable) {
      static_assert(detail::kDependentFalse<F>,
                    "LazyHandle: the loader must return T (or a value or "
                    "reference T is constructible from), std::unique_ptr<T> "
                    "or std::shared_ptr<T>");
    } else {
      if (detail::is_empty_callable(loader)) {
        detail::throw_error<LazyError>("lazyload: the loader of " +
                                       detail::label_of(this->name()) +
                                       " is empty");
      }
      loader_ = detail::LoaderFn<T>(std::move(loader));
      check_warmup<std::remove_const_t<T>>();
    }
  }

  // LazyHandle::get()
  //
  // Returns the value, running the loader on first use.
  // Thread safety: safe to call concurrently; one caller runs the loader, the
  // others wait for it.
  // Throws: LoadError naming the entry, with the loader's exception nested;
  // every thread that waited on that load gets the same error, and the next
  // call retries (unless a failure cool-down is set). CycleError when the
  // load would wait for itself.
  // Invalidates: nothing; the reference lives until unload() or destruction.
  T& get() {
    void* p = value_.load(std::memory_order_acquire);
    if (LAZYLOAD_PREDICT_TRUE(p != nullptr)) return *static_cast<T*>(p);
    return *static_cast<T*>(load_slow());
  }

  // LazyHandle::operator*(), operator->()
  //
  // Same as get(): the value, or its address, loading it on first use.
  // Thread safety: as get(). Throws: what get() throws.
  // Invalidates: nothing; as get().
  T& operator*() { return get(); }
  T* operator->() { return &get(); }

  // LazyHandle::try_get()
  //
  // Returns the value if it is loaded, else nullptr; never starts a load.
  // Thread safety: safe to call concurrently. Throws: none.
  // Invalidates: nothing; the pointer lives until unload() or destruction.
  T* try_get() noexcept {
    return static_cast<T*>(value_.load(std::memory_order_acquire));
  }
  const T* try_get() const noexcept {
    return static_cast<const T*>(value_.load(std::memory_order_acquire));
  }

  // LazyHandle::lease()
  //
  // Returns shared ownership of the value, loading it if needed. The value
  // stays alive as long as the lease, across unload() and eviction; a
  // registry counts a leased entry as in use and records the lease for
  // least-recently-used eviction. A loaded value is leased without a mutex:
  // two atomic additions around a std::shared_ptr copy, and no clock read.
  // Thread safety: safe to call concurrently.
  // Throws: what get() throws.
  // Invalidates: none.
  std::shared_ptr<T> lease() {
    if (std::shared_ptr<T> leased = share_unlocked<T>()) return leased;
    std::shared_ptr<void> owner = share();
    T* value = static_cast<T*>(owner.get());
    return std::shared_ptr<T>(owner, value);  // aliasing: C++17 copies
  }

  // LazyHandle::try_lease()
  //
  // Returns shared ownership of the value if it is loaded now, else an empty
  // pointer; never starts a load and never waits for one. What a request
  // handler uses to answer "not ready" instead of blocking. The value stays
  // alive as long as the lease, across unload(), reload() and eviction.
  // Thread safety: safe to call concurrently.
  // Throws: none beyond std::system_error from the mutex.
  // Invalidates: none.
  std::shared_ptr<T> try_lease() {
    if (std::shared_ptr<T> leased = share_unlocked<T>()) return leased;
    std::shared_ptr<void> owner = try_share();
    T* value = static_cast<T*>(owner.get());
    return std::shared_ptr<T>(owner, value);  // aliasing: C++17 copies
  }

  // LazyHandle::type_name()
  //
  // Returns T's name as the compiler spells it.
  // Thread safety: safe to call concurrently. Throws: none.
  // Invalidates: none.
  const std::string& type_name() const noexcept override {
    return detail::type_name<T>();
  }

#if LAZYLOAD_HAS_RTTI
  // LazyHandle::type()
  //
  // Returns typeid(T).
  // Thread safety: safe to call concurrently. Throws: none. Invalidates: none.
  const std::type_info& type() const noexcept override { return typeid(T); }
#endif

 private:
  detail::TypeKey type_key() const noexcept override {
    return detail::type_key<T>();
  }

  std::shared_ptr<void> produce(Progress& progress) override {
    std::shared_ptr<T> value = loader_(progress);
    return std::const_pointer_cast<std::remove_const_t<T>>(std::move(value));
  }

  detail::LoaderFn<T> loader_;
};

// A handle of a reference is one readable error, not many.
template <class T> class LazyHandle<T&> {
  static_assert(detail::kDependentFalse<T>,
                "LazyHandle<T>: T must be an object type (not a reference, "
                "function, array or void)");

 public:
  // LazyHandle<T&>::LazyHandle(Args&&...)
  //
  // Accepts any arguments, so that the static_assert is the only error.
  // Thread safety: none. Throws: none. Invalidates: none.
  template <class... Args> explicit LazyHandle(Args&&... /*args*/) {}
};
// Class template argument deduction: T is what the loader returns, with
// std::unique_ptr and std::shared_ptr unwrapped.
template <class F> LazyHandle(F) -> LazyHandle<detail::loaded_type_t<F>>;
template <class F>
LazyHandle(F, HandleOptions) -> LazyHandle<detail::loaded_type_t<F>>;
template <class F>
LazyHandle(std::string, F) -> LazyHandle<detail::loaded_type_t<F>>;
template <class F>
LazyHandle(std::string, F, HandleOptions)
    -> LazyHandle<detail::loaded_type_t<F>>;

// End of public interfaces.
// Implementation details follow.

namespace detail {

// The process-wide use sequence: every stamp of a handle's last use takes
// the next number, so comparing two handles' stamps is exact
// least-recently-used order.
inline std::atomic<std::uint64_t>& use_sequence() noexcept {
  static std::atomic<std::uint64_t> sequence{0};
  return sequence;
}

// HandleObserver
//
// What a registry hooks into its handles. Called without the handle's mutex,
// on the thread that loads or unloads.
class HandleObserver {
 public:
  // Before the loader runs: load dependencies, make room in the memory
  // budget. May throw; the load then fails with that error.
  virtual void before_load() = 0;
  // After a successful load, once the value is published.
  virtual void after_load() noexcept = 0;
  // On every change of status.
  virtual void changed(const StatusChange& change) noexcept = 0;
  // On every finished load, success or failure.
  virtual void recorded(const LoadRecord& record) noexcept = 0;

 protected:
  HandleObserver() = default;
  HandleObserver(const HandleObserver&) = default;
  HandleObserver& operator=(const HandleObserver&) = default;
  HandleObserver(HandleObserver&&) noexcept = default;
  HandleObserver& operator=(HandleObserver&&) noexcept = default;
  ~HandleObserver() = default;
};

// HandleAccess
//
// The one narrow door from a registry into a handle: the few internals it
// needs and nothing else, as absl's call_once exposes only ControlWord() to
// its internals. Every function is safe to call concurrently with every
// member of the handle.
class HandleAccess {
 public:
  // Sets the observer; once, before the handle is shared with any thread.
  static void observe(LazyHandleBase& h, HandleObserver* observer) noexcept {
    h.cold_->observer_ = observer;
  }
  // Marks an unloaded or failed handle `queued`, unless its failure is
  // within the cool-down; returns whether it did.
  static bool mark_queued(LazyHandleBase& h) { return h.mark_queued(); }
  // The failure of a failed handle; null unless the status is `failed`.
  static std::exception_ptr failure(const LazyHandleBase& h) {
    std::lock_guard<std::mutex> lock(h.cold_->mutex_);
    return h.status_.load(std::memory_order_relaxed) == Status::failed
               ? h.cold_->failure_
               : nullptr;
  }
  // The failure of a failed handle still within its cool-down, else null.
  static std::exception_ptr cooling_failure(const LazyHandleBase& h) {
    std::lock_guard<std::mutex> lock(h.cold_->mutex_);
    return h.status_.load(std::memory_order_relaxed) == Status::failed &&
                   h.cooling_down()
               ? h.cold_->failure_
               : nullptr;
  }
  // Fails a handle still `queued` that no thread will load (its scheduler
  // could not hand it to anyone), with `error` and its `message`, as a
  // failed load would; returns whether it did.
  static bool fail_queued(LazyHandleBase& h, const std::exception_ptr& error,
                          const std::string& message) {
    {
      std::lock_guard<std::mutex> lock(h.cold_->mutex_);
      if (h.status_.load(std::memory_order_relaxed) != Status::queued) {
        return false;
      }
      h.status_.store(Status::failed, std::memory_order_release);
      ++h.cold_->failures_;
      h.cold_->failure_ = error;
      h.cold_->last_error_ = message;
      h.cold_->failed_at_ = std::chrono::steady_clock::now();
      h.cold_->changes_.bump();
    }
    h.notify(Status::queued, Status::failed, {}, message);
    return true;
  }
  // Who loads the handle now, for a wait-graph edge to it (WaitScope).
  static const LoadSite& site(const LazyHandleBase& h) noexcept {
    return h.cold_->site_;
  }
  // Loads a handle that is still `queued`; returns whether it did.
  static bool load_if_queued(LazyHandleBase& h) { return h.load_if_queued(); }
  // Unloads a loaded handle nobody leases, without reporting it; returns
  // whether it did. Report it with report_eviction() once no lock is held.
  static bool evict_if_unused(LazyHandleBase& h) noexcept {
    return h.evict_if_unused();
  }
  // Reports an eviction done by evict_if_unused() to the observer.
  static void report_eviction(LazyHandleBase& h) noexcept {
    h.notify_eviction();
  }
  // When the value was last leased or loaded: a process-wide sequence number
  // (exact least-recently-used order) and steady_clock ticks (idle time).
  static std::uint64_t last_used_seq(const LazyHandleBase& h) noexcept {
    return h.cold_->last_used_seq_.load(std::memory_order_relaxed);
  }
  static std::int64_t last_used_at(const LazyHandleBase& h) noexcept {
    return h.cold_->last_used_at_.load(std::memory_order_relaxed);
  }
  // The size the loader reported through Progress::set_size(); 0: none.
  static std::size_t reported_size(const LazyHandleBase& h) noexcept {
    return h.cold_->progress_.size_bytes() +
           (h.cold_->reload_.load(std::memory_order_acquire) != nullptr
                ? h.cold_->reload().progress.size_bytes()
                : 0);
  }
};

}  // namespace detail

inline LazyHandleBase::LazyHandleBase(std::string name, HandleOptions options)
    : cold_(std::make_unique<Cold>(std::move(name), std::move(options))) {}

inline void LazyHandleBase::unload() noexcept {
  std::shared_ptr<void> doomed;
  Status from = Status::unloaded;
  {
    std::lock_guard<std::mutex> lock(cold_->mutex_);
    if (cold_->reloading_) cold_->reload().progress.request_stop();
    from = status_.load(std::memory_order_relaxed);
    if (from == Status::loading) cold_->progress_.request_stop();
    if (from == Status::loading || from == Status::unloaded) return;
    doomed = detach_value();
  }
  doomed.reset();  // destroys the value here unless a lease holds it
  notify(from, Status::unloaded);
}

inline void LazyHandleBase::reload() {
  std::unique_lock<std::mutex> lock(cold_->mutex_);
  for (;;) {
    if (value_.load(std::memory_order_relaxed) == nullptr) {
      acquire(lock);  // not loaded: a reload is a load
    } else if (!cold_->reloading_) {
      run_reload(lock);
    } else if (!cold_->reload().progress.stop_flag()) {
      wait_for_running_reload(lock);  // share the reload under way
    } else {
      // The reload under way was cancelled: wait for it to end, then start
      // the one asked for.
      const std::uint64_t generation = cold_->reload_generation_;
      detail::WaitScope edge(
          cold_->reload().site);  // CycleError, never a deadlock
      wait_locked(lock,
                  [&] { return cold_->reload_generation_ != generation; });
      continue;
    }
    return;
  }
}

inline bool LazyHandleBase::cancel() noexcept {
  std::lock_guard<std::mutex> lock(cold_->mutex_);
  bool running = false;
  if (status_.load(std::memory_order_relaxed) == Status::loading) {
    cold_->progress_.request_stop();
    running = true;
  }
  if (cold_->reloading_) {
    cold_->reload().progress.request_stop();
    running = true;
  }
  return running;
}

inline HandleStats LazyHandleBase::stats() const {
  HandleStats out;
  out.name = cold_->site_.name;
  std::chrono::steady_clock::duration duration{};
  {
    std::lock_guard<std::mutex> lock(cold_->mutex_);
    out.status = status_.load(std::memory_order_relaxed);
    out.loads = cold_->loads_;
    out.failures = cold_->failures_;
    const std::uint64_t gate =
        cold_->lease_gate_.load(std::memory_order_relaxed);
    out.uses = cold_->uses_.load(std::memory_order_relaxed) +
               (gate & ~kLeaseBlocked) / kLeaseUse;
    duration = cold_->last_duration_;
    out.last_loaded_at = cold_->loaded_at_;
    out.error = cold_->last_error_;
    out.reloading = cold_->reloading_;
  }
  if (out.reloading) out.reload_progress = cold_->reload().progress.fraction();
  out.load_time = std::chrono::duration<double>(duration).count();
  out.progress = cold_->progress_.fraction();
  out.stage = cold_->progress_.stage();
  out.size_bytes = cold_->progress_.size_bytes();
  LAZYLOAD_SUPPRESS_DEPRECATED_BEGIN
  out.last_load_time = duration;
  out.last_error = out.error;
  out.reported_size = out.size_bytes;
  LAZYLOAD_SUPPRESS_DEPRECATED_END
  return out;
}

inline std::shared_ptr<void> LazyHandleBase::share() {
  if (auto leased = share_unlocked<void>()) return leased;
  std::unique_lock<std::mutex> lock(cold_->mutex_);
  for (;;) {
    acquire(lock);
    if (!lock.owns_lock()) lock.lock();  // a waiter returns without it
    if (cold_->owner_) break;            // else unloaded since: load again
  }
  touch();
  return cold_->owner_;
}

inline std::shared_ptr<void> LazyHandleBase::try_share() {
  if (value_.load(std::memory_order_acquire) == nullptr) return nullptr;
  if (auto leased = share_unlocked<void>()) return leased;
  std::lock_guard<std::mutex> lock(cold_->mutex_);  // the owner is changing
  if (!cold_->owner_) return nullptr;
  touch();
  return cold_->owner_;
}

// Requires: `mutex_` held through `lock`. Returns the published value, with
// the mutex held or not (a waiter released by a successful load returns
// without taking it again).
inline void* LazyHandleBase::acquire(std::unique_lock<std::mutex>& lock) {
  for (;;) {
    if (void* p = value_.load(std::memory_order_relaxed)) return p;
    const Status s = status_.load(std::memory_order_relaxed);
    if (s == Status::loading) {
      if (void* p = wait_for_running_load(lock)) return p;
      continue;
    }
    if (s == Status::failed && cooling_down())
      std::rethrow_exception(cold_->failure_);
    run_load(lock);
  }
}

// Requires: `mutex_` held. Whether a failure is still within its cool-down.
inline bool LazyHandleBase::cooling_down() const {
  const auto cooldown = cold_->options_.failure_cooldown;
  return cold_->failure_ && cooldown > std::chrono::steady_clock::duration{} &&
         std::chrono::steady_clock::now() - cold_->failed_at_ < cooldown;
}

// Requires: `mutex_` held through `lock`. Waits for the running load to
// end. Returns the value it published, with the mutex released: the waiters
// of a load wake together on one futex and none takes the mutex again, as
// with pthread_once. Otherwise returns null with the mutex held, or throws
// that load's failure.
inline void* LazyHandleBase::wait_for_running_load(
    std::unique_lock<std::mutex>& lock) {
  const std::uint64_t generation = cold_->generation_;
  {
    detail::WaitScope edge(
        cold_->site_);  // throws CycleError instead of deadlocking
    std::uint32_t seen = cold_->changes_.load();
    lock.unlock();
    for (;;) {
      cold_->changes_.wait(seen);
      if (void* p = value_.load(std::memory_order_acquire)) return p;
      lock.lock();
      if (cold_->generation_ != generation) break;
      seen = cold_->changes_.load();  // woken by another change: wait on
      lock.unlock();
    }
  }
  // Every waiter of a failed or cancelled load gets that load's failure.
  if (cold_->generation_ == generation + 1 && cold_->last_failure_) {
    std::rethrow_exception(cold_->last_failure_);
  }
  return nullptr;
}

// Requires: `mutex_` held through `lock`. Returns with it held; releases it
// while the loader runs and while the observer is told.
inline void LazyHandleBase::run_load(std::unique_lock<std::mutex>& lock) {
  LoadRecord record = begin_load(lock);
  Outcome outcome = run_guarded(lock, record, false);
  lock.lock();
  finish_load(record, outcome);
  lock.unlock();
  cold_->changes_.wake();
  report_load(record, outcome);
  outcome.value.reset();  // the handle owns it now, or nobody does
  lock.lock();
  if (outcome.failure) std::rethrow_exception(outcome.failure);
}

// Requires: `mutex_` not held. Runs the loader; if the loading thread is
// ended under it (pthread_exit, pthread_cancel: a forced unwind, which must
// not be swallowed), records the failure, releases the waiters and lets the
// unwind go on.
inline LazyHandleBase::Outcome LazyHandleBase::run_guarded(
    std::unique_lock<std::mutex>& lock, LoadRecord& record, bool reload) {
  Progress& progress = reload ? cold_->reload().progress : cold_->progress_;
  detail::LoadSite& site = reload ? cold_->reload().site : cold_->site_;
#if LAZYLOAD_HAS_FORCED_UNWIND
  try {
    return run_loader(record, progress, site);
  } catch (abi::__forced_unwind&) {
    Outcome ended;
    ended.message = load_prefix() + "failed: the loading thread was ended";
    ended.failure = std::make_exception_ptr(LoadError(ended.message));
    record.finished_at = std::chrono::steady_clock::now();
    lock.lock();
    if (reload) {
      finish_reload(record, ended);  // keeps the old value serving
    } else {
      finish_load(record, ended);
    }
    lock.unlock();
    cold_->changes_.wake();
    report_load(record, ended, reload);
    throw;
  }
#else
  static_cast<void>(lock);
  static_cast<void>(reload);
  return run_loader(record, progress, site);
#endif
}

// Requires: `mutex_` held through `lock`. Marks the load started and returns
// with the mutex released.
inline LoadRecord LazyHandleBase::begin_load(
    std::unique_lock<std::mutex>& lock) {
  const Status from = status_.load(std::memory_order_relaxed);
  LoadRecord record;
  record.name = cold_->site_.name;
  record.thread = std::this_thread::get_id();
  if (from == Status::queued) record.queued_at = cold_->queued_at_;
  status_.store(Status::loading, std::memory_order_release);
  cold_->site_.loader.store(record.thread);
  cold_->progress_.reset(cold_->options_.load_timeout);
  lock.unlock();
  notify(from, Status::loading);
  return record;
}

// Requires: `mutex_` not held. Runs the observer's before_load, the loader
// and the warm-up; never throws, the failure is in the outcome.
inline LazyHandleBase::Outcome LazyHandleBase::run_loader(
    LoadRecord& record, Progress& progress, detail::LoadSite& site) {
  Outcome outcome;
  detail::LoadScope scope(site);
  record.started_at = std::chrono::steady_clock::now();
  try {
    if (cold_->observer_ != nullptr) cold_->observer_->before_load();
    record.started_at = std::chrono::steady_clock::now();
    outcome.value = produce(progress);
    if (!outcome.value) {
      detail::throw_error<LoadError>(
          "lazyload: the loader returned a null pointer");
    }
    if (cold_->options_.warmup) cold_->options_.warmup.fn_(outcome.value.get());
#if LAZYLOAD_HAS_FORCED_UNWIND
  } catch (abi::__forced_unwind&) {
    throw;  // the thread is being ended: run_guarded() records it
#endif
  } catch (...) {
    outcome.value.reset();
    outcome.failure = wrap_failure(outcome.message, outcome.cancelled);
  }
  settle_stop(progress, outcome);
  record.finished_at = std::chrono::steady_clock::now();
  record.ok = outcome.failure == nullptr;
  return outcome;
}

// A load asked to stop publishes nothing: cancelled, whatever the loader
// did; past its deadline, a failure that says it timed out.
inline void LazyHandleBase::settle_stop(const Progress& progress,
                                        Outcome& outcome) const {
  const bool cancelled = progress.stop_flag();
  if (!cancelled && !progress.timed_out()) return;
  outcome.value.reset();
  outcome.cancelled = cancelled;
  outcome.failure = stop_failure(outcome.failure, cancelled, outcome.message);
}

// The LoadCancelled (or, for a timeout, LoadError) of a stopped load, with
// the loader's own exception, if it threw one, nested.
inline std::exception_ptr LazyHandleBase::stop_failure(
    const std::exception_ptr& cause, bool cancelled,
    std::string& message) const {
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      cold_->options_.load_timeout);
  message =
      load_prefix() + (cancelled ? std::string("was cancelled")
                                 : "timed out after " +
                                       std::to_string(timeout.count()) + " ms");
  try {
    if (cause) {
      try {
        std::rethrow_exception(cause);
      } catch (...) {
        if (cancelled) std::throw_with_nested(LoadCancelled(message));
        std::throw_with_nested(LoadError(message));
      }
    }
    if (cancelled) throw LoadCancelled(message);
    throw LoadError(message);
  } catch (...) {
    return std::current_exception();
  }
}

// Requires: `mutex_` held. Records the load and advances the wait word; the
// caller wakes the waiters (WaitWord::wake()) once it released the mutex.
inline void LazyHandleBase::finish_load(const LoadRecord& record,
                                        Outcome& outcome) {
  // A stop requested (under this mutex) after the loader returned still wins.
  if (outcome.value) settle_stop(cold_->progress_, outcome);
  ++cold_->generation_;
  cold_->site_.loader.store(std::thread::id());
  cold_->last_duration_ = record.finished_at - record.started_at;
  cold_->set_last_record(record);
  cold_->last_failure_ = outcome.failure;
  if (outcome.value) {
    publish(outcome.value);
  } else if (outcome.cancelled) {
    status_.store(Status::unloaded, std::memory_order_release);
    cold_->failure_ = nullptr;
  } else {
    status_.store(Status::failed, std::memory_order_release);
    ++cold_->failures_;
    cold_->failure_ = outcome.failure;
    cold_->last_error_ = outcome.message;
    cold_->failed_at_ = record.finished_at;
  }
  cold_->changes_.advance();  // the caller wakes the waiters, unlocked
}

// Requires: `mutex_` held. Makes `value` the one every access returns, and
// returns the handle's ownership of the one it replaces (a reload's old
// value), for the caller to release once the mutex is not held.
inline std::shared_ptr<void> LazyHandleBase::publish(
    const std::shared_ptr<void>& value) {
  std::shared_ptr<void> old = set_owner(value);
  status_.store(Status::loaded, std::memory_order_release);
  cold_->progress_.report(1.0);  // done, whether or not the loader said so
  ++cold_->loads_;
  cold_->loaded_at_ = std::chrono::system_clock::now();
  touch();
  cold_->last_error_.clear();
  cold_->failure_ = nullptr;
  return old;
}

// Requires: `mutex_` not held. Tells the observer how the load ended.
inline void LazyHandleBase::report_load(const LoadRecord& record,
                                        const Outcome& outcome,
                                        bool reload) noexcept {
  if (cold_->observer_ != nullptr) {
    cold_->observer_->recorded(record);
    if (outcome.value) cold_->observer_->after_load();
  }
  StatusChange change;
  change.name = cold_->site_.name;
  change.from = reload ? Status::loaded : Status::loading;
  change.to = outcome.value       ? Status::loaded
              : outcome.cancelled ? Status::unloaded
                                  : Status::failed;
  if (reload) {  // the status did not change: say what it is now
    change.to = status_.load(std::memory_order_acquire);
    change.from = change.to;
  }
  change.duration = record.finished_at - record.started_at;
  if (!outcome.cancelled) change.error = outcome.message;
  change.reload = reload;
  notify_change(change);
}

// Turns the exception being handled into the LoadError (or CycleError) that
// every caller of this load receives, with the original nested.
inline std::string LazyHandleBase::load_prefix() const {
  return cold_->site_.name.empty()
             ? "lazyload: loading "
             : "lazyload: loading " + detail::quoted(cold_->site_.name) + " ";
}

inline std::exception_ptr LazyHandleBase::wrap_failure(std::string& message,
                                                       bool& cancelled) const {
  const std::string prefix = load_prefix() + "failed: ";
  constexpr std::string_view kOwnPrefix = "lazyload: ";
  auto strip = [&](const char* what) {
    std::string_view text(what);
    if (text.substr(0, kOwnPrefix.size()) == kOwnPrefix) {
      text.remove_prefix(kOwnPrefix.size());
    }
    return std::string(text);
  };
  try {
    try {
      throw;
    } catch (const CycleError& e) {
      message = prefix + strip(e.what());
      std::throw_with_nested(CycleError(message));
    } catch (const LoadCancelled& e) {
      cancelled = true;  // a stop, not a failure: keeps its type
      message = load_prefix() + "was cancelled: " + strip(e.what());
      std::throw_with_nested(LoadCancelled(message));
    } catch (const std::exception& e) {
      message = prefix + strip(e.what());
      std::throw_with_nested(LoadError(message));
    } catch (...) {
      message = prefix + "unknown exception";
      std::throw_with_nested(LoadError(message));
    }
  } catch (...) {
    return std::current_exception();
  }
}

// Requires: `mutex_` held, and the status neither loading nor unloaded;
// with `leases_blocked`, block_leases() done (this unblocks them).
// Takes the value away from every accessor and returns the handle's
// ownership, for the caller to release once the mutex is not held.
inline std::shared_ptr<void> LazyHandleBase::detach_value(bool leases_blocked) {
  std::shared_ptr<void> doomed;
  if (leases_blocked) {
    doomed = std::move(cold_->owner_);
    value_.store(nullptr, std::memory_order_release);
    unblock_leases();
  } else {
    doomed = set_owner(nullptr);
  }
  cold_->failure_ = nullptr;
  status_.store(Status::unloaded, std::memory_order_release);
  cold_->changes_.bump();
  return doomed;
}

// Requires: `mutex_` not held. Unloads a loaded value that no lease holds.
inline bool LazyHandleBase::evict_if_unused() noexcept {
  std::shared_ptr<void> doomed;
  {
    std::lock_guard<std::mutex> lock(cold_->mutex_);
    if (status_.load(std::memory_order_relaxed) != Status::loaded ||
        cold_->reloading_) {
      return false;
    }
    // No lease may start between the count and the detach.
    block_leases();
    if (cold_->owner_.use_count() > 1) {
      unblock_leases();
      return false;
    }
    doomed = detach_value(true);
  }
  return true;  // `doomed` destroys the value here, outside the mutex
}

inline void LazyHandleBase::touch() noexcept {
  cold_->uses_.fetch_add(1, std::memory_order_relaxed);
  stamp_use();
}

// Makes this handle the most recently used: the next number of the use
// sequence, and the time.
inline void LazyHandleBase::stamp_use() noexcept {
  cold_->last_used_seq_.store(
      detail::use_sequence().fetch_add(1, std::memory_order_relaxed) + 1,
      std::memory_order_relaxed);
  cold_->last_used_at_.store(
      std::chrono::steady_clock::now().time_since_epoch().count(),
      std::memory_order_relaxed);
}

// Enters the lease gate, unless no value is published or the owner is being
// replaced; `gate` receives the word as it was, for exit_lease().
inline bool LazyHandleBase::enter_lease(std::uint64_t& gate) noexcept {
  if (value_.load(std::memory_order_acquire) == nullptr) return false;
  std::atomic<std::uint64_t>& word = cold_->lease_gate_;
  gate = word.fetch_add(kLeaseActive + kLeaseUse, std::memory_order_acquire);
  if (LAZYLOAD_PREDICT_TRUE((gate & kLeaseBlocked) == 0)) return true;
  word.fetch_sub(kLeaseActive + kLeaseUse, std::memory_order_release);
  return false;
}

// Leaves the lease gate entered with enter_lease().
inline void LazyHandleBase::exit_lease(std::uint64_t gate) noexcept {
  cold_->lease_gate_.fetch_sub(kLeaseActive, std::memory_order_release);
  if (LAZYLOAD_PREDICT_FALSE((gate & kLeaseFold) != 0)) fold_lease_uses();
}

// Requires: `mutex_` held. Stops new unlocked leases and waits for the ones
// copying the owner now; they take a few nanoseconds and never block.
inline void LazyHandleBase::block_leases() noexcept {
  std::atomic<std::uint64_t>& gate = cold_->lease_gate_;
  gate.fetch_or(kLeaseBlocked, std::memory_order_acquire);
  while ((gate.load(std::memory_order_acquire) & kLeaseActiveMask) != 0) {
    std::this_thread::yield();
  }
}

// Requires: `mutex_` held, leases blocked. Lets unlocked leases in again.
inline void LazyHandleBase::unblock_leases() noexcept {
  cold_->lease_gate_.fetch_and(~kLeaseBlocked, std::memory_order_release);
}

// Requires: `mutex_` held. Makes `value` (null: none) the owner leases copy
// and the pointer get() returns; returns the previous owner.
inline std::shared_ptr<void> LazyHandleBase::set_owner(
    std::shared_ptr<void> value) noexcept {
  block_leases();
  std::shared_ptr<void> old = std::move(cold_->owner_);
  cold_->owner_ = std::move(value);
  value_.store(cold_->owner_.get(), std::memory_order_release);
  unblock_leases();
  return old;
}

// Moves 2^38 counted leases from the gate word to `uses_`, long before the
// count could reach the blocked bit (at 10^9 leases a second, every three
// days). Whoever sees the bit first moves them; the others find it clear.
inline void LazyHandleBase::fold_lease_uses() noexcept {
  constexpr std::uint64_t kFolded = kLeaseFold / kLeaseUse;
  std::atomic<std::uint64_t>& gate = cold_->lease_gate_;
  cold_->uses_.fetch_add(kFolded, std::memory_order_relaxed);
  std::uint64_t seen = gate.load(std::memory_order_relaxed);
  while ((seen & kLeaseFold) != 0) {
    if (gate.compare_exchange_weak(seen, seen - kLeaseFold,
                                   std::memory_order_relaxed)) {
      return;
    }
  }
  cold_->uses_.fetch_sub(kFolded, std::memory_order_relaxed);  // not ours
}

// Records an unlocked lease for least-recently-used order. A handle that is
// already the most recently used keeps its stamp: repeated leases of one
// value write nothing shared. The registry's idle check advances the
// sequence each period, so a value in steady use is stamped again (with the
// time) at least once per period: idle times are exact to that period.
inline void LazyHandleBase::stamp_lease() noexcept {
  if (cold_->last_used_seq_.load(std::memory_order_relaxed) !=
      detail::use_sequence().load(std::memory_order_relaxed)) {
    stamp_use();
  }
}

inline void LazyHandleBase::notify(Status from, Status to,
                                   std::chrono::steady_clock::duration duration,
                                   std::string_view error) noexcept {
  StatusChange change;
  change.name = cold_->site_.name;
  change.from = from;
  change.to = to;
  change.duration = duration;
  change.error = error;
  notify_change(change);
}

inline void LazyHandleBase::notify_eviction() noexcept {
  StatusChange change;
  change.name = cold_->site_.name;
  change.from = Status::loaded;
  change.to = Status::unloaded;
  change.eviction = true;
  notify_change(change);
}

inline void LazyHandleBase::notify_change(const StatusChange& change) noexcept {
  if (cold_->observer_ != nullptr) cold_->observer_->changed(change);
}

// Requires: `mutex_` held through `lock`. Returns with it held.
inline void LazyHandleBase::wait_for_running_reload(
    std::unique_lock<std::mutex>& lock) {
  const std::uint64_t generation = cold_->reload_generation_;
  {
    detail::WaitScope edge(
        cold_->reload().site);  // CycleError, never a deadlock
    wait_locked(lock, [&] { return cold_->reload_generation_ != generation; });
  }
  if (cold_->reload_generation_ == generation + 1 && cold_->reload_failure_) {
    std::rethrow_exception(cold_->reload_failure_);
  }
}

// Requires: `mutex_` held through `lock`, a value published and no reload
// running. Returns with it held; releases it while the loader runs.
inline void LazyHandleBase::run_reload(std::unique_lock<std::mutex>& lock) {
  Cold::Reload& state = cold_->make_reload();  // before any state changes
  LoadRecord record;
  record.name = cold_->site_.name;
  cold_->reloading_ = true;
  state.progress.reset(cold_->options_.load_timeout);
  record.thread = std::this_thread::get_id();
  cold_->reload().site.loader.store(record.thread);
  lock.unlock();
  Outcome outcome = run_guarded(lock, record, true);
  lock.lock();
  std::shared_ptr<void> old = finish_reload(record, outcome);
  lock.unlock();
  old.reset();  // destroys the old value here unless a lease holds it
  report_load(record, outcome, true);
  outcome.value.reset();
  lock.lock();
  if (outcome.failure) std::rethrow_exception(outcome.failure);
}

// Requires: `mutex_` held. Swaps in the new value (if it loaded and the
// handle was not unloaded meanwhile) and returns the old one, for the caller
// to release without the mutex; records a failure without touching the value.
inline std::shared_ptr<void> LazyHandleBase::finish_reload(
    const LoadRecord& record, Outcome& outcome) {
  // A stop requested after the loader returned (cancel(), or an unload(),
  // which leaves nothing to replace) still wins: nothing is published.
  if (outcome.value) settle_stop(cold_->reload().progress, outcome);
  if (outcome.value && value_.load(std::memory_order_relaxed) == nullptr) {
    outcome.value.reset();
    outcome.cancelled = true;
    outcome.failure = stop_failure(nullptr, true, outcome.message);
  }
  ++cold_->reload_generation_;
  cold_->reloading_ = false;
  cold_->reload_failure_ = outcome.failure;
  cold_->reload().site.loader.store(std::thread::id());
  cold_->last_duration_ = record.finished_at - record.started_at;
  cold_->set_last_record(record);
  std::shared_ptr<void> old;
  if (outcome.value) {
    old = publish(outcome.value);
    cold_->progress_.adopt(cold_->reload().progress);
  } else if (!outcome.cancelled) {
    ++cold_->failures_;
    cold_->last_error_ = outcome.message;
  }
  cold_->reload().progress.reset();
  cold_->changes_.bump();
  return old;
}

inline bool LazyHandleBase::mark_queued() {
  Status from = Status::unloaded;
  {
    std::lock_guard<std::mutex> lock(cold_->mutex_);
    from = status_.load(std::memory_order_relaxed);
    if (from != Status::unloaded && from != Status::failed) return false;
    if (from == Status::failed && cooling_down()) return false;
    cold_->queued_at_ = std::chrono::steady_clock::now();
    status_.store(Status::queued, std::memory_order_release);
  }
  notify(from, Status::queued);
  return true;
}

inline bool LazyHandleBase::load_if_queued() {
  std::unique_lock<std::mutex> lock(cold_->mutex_);
  if (status_.load(std::memory_order_relaxed) != Status::queued) return false;
  acquire(lock);
  return true;
}

}  // namespace lazyload

#endif  // LAZYLOAD_HANDLE_HPP_
