// lazyload/registry.hpp
//
// `LazyRegistry`: named lazily loaded resources of any types, with priorities,
// dependencies, background loading, load and unload by name, and one status
// snapshot that every monitoring format reads.
//
// Example Usage:
//
//   lazyload::LazyRegistry registry;
//   registry.add("orchestrator", [] { return std::make_unique<Orchestrator>();
//   }); registry.add("dqn", [&] { return
//   load_dqn(registry.get<Orchestrator>("orchestrator")); },
//                {.priority = 1, .depends_on = {"orchestrator"}});
//   registry.start_background();          // loads by priority, 1 first
//   Model& m = registry.get<Model>("dqn");  // or now, on this thread
//   lazyload::RegistrySnapshot s = registry.snapshot();
//
// Rationale:
//
// * Entries are `LazyHandle<T>`s owned by the registry at stable addresses,
//   so `add()` returns a reference that lives as long as the registry, and a
//   caller that keeps it pays the handle's fast path, not a lookup.
// * Lookup by name is a `std::map` with a transparent comparator under a
//   shared lock: no allocation, logarithmic, and registration never blocks
//   readers for long.
// * Entries are never removed, only unloaded: nothing handed out dangles.
// * Dependencies load on the loading thread, inside the dependent's load, so
//   the handles' deadlock detection covers them; a declared cycle is refused
//   when the entry that closes it is added.
// * Background loads run on a small pool of the registry's own threads, or on
//   an executor the program already has. Destroying the registry never waits
//   for queued loads: they never start. Running ones finish and are joined.
// * Every status change is reported to an optional callback, always called
//   without any lazyload lock held, so the callback may call the registry.

#ifndef LAZYLOAD_REGISTRY_HPP_
#define LAZYLOAD_REGISTRY_HPP_

#include <algorithm>           // std::sort, std::min
#include <chrono>              // std::chrono::steady_clock
#include <condition_variable>  // std::condition_variable
#include <cstddef>             // std::size_t
#include <cstdint>             // std::uint64_t
#include <cstdio>              // std::rename, std::remove
#include <deque>               // std::deque
#include <fstream>             // std::ifstream, std::ofstream
#include <functional>          // std::function, std::less
#include <future>              // std::future, std::promise
#include <map>                 // std::map
#include <memory>              // std::unique_ptr, std::shared_ptr
#include <mutex>               // std::mutex, std::lock_guard, std::unique_lock
#include <optional>            // std::optional
#include <shared_mutex>        // std::shared_mutex, std::shared_lock
#include <sstream>             // std::ostringstream
#include <string>              // std::string
#include <string_view>         // std::string_view
#include <thread>              // std::thread
#include <type_traits>         // std::conditional_t, std::is_void_v
#include <typeinfo>            // typeid
#include <utility>             // std::move
#include <vector>              // std::vector

#include "detail/config.hpp"
#include "detail/json_reader.hpp"
#include "detail/loader.hpp"
#include "detail/text.hpp"
#include "detail/type_name.hpp"
#include "error.hpp"
#include "handle.hpp"
#include "memory.hpp"
#include "status.hpp"

namespace lazyload {

// kDefaultPriority
//
// The priority of an entry whose options do not set one. Smaller numbers
// load first; 1 is the highest priority the seeds use.
inline constexpr int kDefaultPriority = 100;

// EntryOptions
//
// How one registry entry loads. An aggregate: with C++20,
// `{.priority = 1, .depends_on = {"orchestrator"}}`.
struct EntryOptions {
  // Background loading order: smaller first; ties in registration order.
  int priority = kDefaultPriority;
  // Entries loaded before this one. Names not registered yet are accepted and
  // resolved when this entry loads; a missing one fails that load.
  std::vector<std::string> depends_on;
  // As HandleOptions: run on the fresh value before it is published.
  Warmup warmup;
  // As HandleOptions: rethrow a failure for this long without reloading.
  std::chrono::steady_clock::duration failure_cooldown{};
  // The value's size in bytes when known in advance (0: unknown). A size the
  // loader reports through Progress::set_size() wins.
  std::size_t size_bytes = 0;
  // Whether the registry may unload this entry to keep under its memory
  // budget, or when it has not been leased for `idle_timeout`.
  bool evictable = false;
  // Evicts an evictable entry nobody has leased for this long (zero: never).
  std::chrono::steady_clock::duration idle_timeout{};
  // Readiness: a registry is ready once every required entry is loaded.
  bool required = false;
};

// RegistryOptions
//
// How a registry runs. An aggregate: `{.workers = 4}`.
struct RegistryOptions {
  // Background loading threads; 0 picks one per core, at most 4. Threads are
  // started by the first start_background() or load_async(), not before.
  unsigned workers = 0;
  // When set, background loads are handed to this executor (one task per
  // load) instead of the registry's own threads. A task may run after the
  // registry is gone: it then returns at once without touching anything.
  std::function<void(std::function<void()>)> executor;
  // Called on every status change of every entry, without any lazyload lock
  // held; it may call the registry. Exceptions it throws are swallowed.
  std::function<void(const StatusChange&)> on_change;
  // Target for the sum of the sizes of the loaded entries, in bytes (0: no
  // budget). Evictable entries not in use are unloaded, least recently leased
  // first, to make a load fit; a load never fails for it.
  std::size_t memory_budget = 0;
  // Optional thresholds, as fractions of memory_budget (PressureLevels{} gives
  // 85 % and 95 %). Off unless set; needs a memory_budget.
  std::optional<PressureLevels> pressure;
  // Called once each time the loaded total crosses a threshold upward,
  // without any lazyload lock held. Exceptions it throws are swallowed.
  std::function<void(const PressureEvent&)> on_pressure;
  // Keep at most this many load records for timeline() (oldest dropped).
  std::size_t timeline_capacity = 10000;
};

// ProfileReport
//
// What LazyRegistry::preload_profile() did.
struct ProfileReport {
  // Whether the profile file existed. A missing file is not an error: the
  // first run of a program has no profile yet.
  bool found = false;
  // The entries queued, in the order they will load (most used first).
  std::vector<std::string> queued;
  // Names in the profile that are not registered; skipped.
  std::vector<std::string> unknown;
  // Why nothing was queued, for a file that could not be read or parsed;
  // empty otherwise.
  std::string error;
};

// EntrySnapshot
//
// One entry of a RegistrySnapshot.
struct EntrySnapshot {
  std::string name;
  std::string type;  // the value type, demangled
  Status status = Status::unloaded;
  int priority = kDefaultPriority;
  // The last load's loader plus warm-up, in seconds.
  double load_time = 0.0;
  std::string error;  // the last failure's message; empty if none
  std::uint64_t loads = 0;
  std::uint64_t failures = 0;
  std::uint64_t evictions = 0;
  std::uint64_t uses = 0;  // successful loads plus leases
  double progress = 0.0;
  std::string stage;
  std::vector<std::string> depends_on;
  // Reported by the loader, else declared in the options; 0: unknown.
  std::size_t size_bytes = 0;
  bool evictable = false;
  bool required = false;
  // When the last successful load finished; the epoch when there was none.
  std::chrono::system_clock::time_point last_loaded_at{};
};

// RegistrySnapshot
//
// The state of every entry, read entry by entry in registration order, with
// totals computed from exactly those entries, so that the counts always add
// up to `total`.
struct RegistrySnapshot {
  std::vector<EntrySnapshot> entries;
  std::size_t total = 0;
  std::size_t loaded = 0;
  std::size_t failed = 0;
  std::size_t loading = 0;
  std::size_t queued = 0;
  std::size_t unloaded = 0;
  // True while at least one entry is queued or loading.
  bool is_loading = false;
  // loaded / total * 100; 0 for an empty registry.
  double progress_percentage = 0.0;
  // The sum of the sizes of the loaded entries: what the budget is compared
  // with.
  std::size_t bytes_loaded = 0;
  std::size_t memory_budget = 0;
  // Loads that left the loaded total over the budget with nothing to evict.
  std::uint64_t budget_overshoots = 0;
  // The pressure level now (normal when no levels are set).
  PressureLevel pressure = PressureLevel::normal;
  // The process's resident set size when the snapshot was taken.
  std::size_t rss_bytes = 0;
  // Required entries that are not loaded (names).
  std::vector<std::string> not_ready;
};

// LazyRegistry
//
// Owns named handles of any value types. This class is thread-safe: every
// member may be called concurrently, also from inside loaders and from the
// status-change callback. Neither copyable nor movable.
class LazyRegistry {
 public:
  // LazyRegistry::LazyRegistry()
  //
  // Creates an empty registry. No thread starts here.
  // Thread safety: none needed.
  // Throws: LazyError if options.pressure is set without a memory_budget or
  // its levels are not 0 < warning <= critical <= 1.
  // Invalidates: none.
  LazyRegistry() : LazyRegistry(RegistryOptions{}) {}
  explicit LazyRegistry(RegistryOptions options);

  LazyRegistry(const LazyRegistry&) = delete;
  LazyRegistry& operator=(const LazyRegistry&) = delete;

  // LazyRegistry::~LazyRegistry()
  //
  // Returns promptly: queued loads never start; loads running on the
  // registry's threads or its executor finish and are joined.
  // Thread safety: no other member may be running or called during or after
  // destruction (loads on the caller's own threads included).
  ~LazyRegistry();

  // LazyRegistry::add()
  //
  // Registers `loader` under `name` and returns its handle, whose address is
  // stable for the registry's lifetime. `T` is deduced from the loader as for
  // LazyHandle, or given: `add<Base>(name, loader)`. Nothing loads here.
  // Thread safety: safe to call concurrently with every member.
  // Throws: LazyError if `name` is empty or already registered, the warm-up
  // does not take `T`, or an idle_timeout is set on an entry that is not
  // evictable; CycleError if `options.depends_on` closes a
  // cycle of declared dependencies. Nothing is registered when it throws.
  // Invalidates: none.
  template <class T = void, class F>
  auto add(std::string name, F loader, EntryOptions options = {}) -> LazyHandle<
      std::conditional_t<std::is_void_v<T>, detail::loaded_type_t<F>, T>>&;

  // LazyRegistry::contains()
  //
  // Returns whether `name` is registered.
  // Thread safety: safe to call concurrently. Throws: none beyond
  // std::system_error from the lock. Invalidates: none.
  bool contains(std::string_view name) const;

  // LazyRegistry::get()
  //
  // Returns the value of entry `name`, loading it (and its dependencies) if
  // needed, on this thread, even when it is queued for the background.
  // The lookup allocates nothing.
  // Thread safety: safe to call concurrently.
  // Throws: LazyError if `name` is not registered or `T` is not its type
  // (naming both types); what LazyHandle::get() throws.
  // Invalidates: nothing; the reference lives until the entry is unloaded.
  template <class T> T& get(std::string_view name) {
    return handle<T>(name).get();
  }

  // LazyRegistry::handle()
  //
  // Returns the handle of entry `name`, typed. Loads nothing.
  // Thread safety: safe to call concurrently.
  // Throws: LazyError if `name` is not registered or `T` is not its type.
  // Invalidates: none; the handle lives as long as the registry.
  template <class T> LazyHandle<T>& handle(std::string_view name);

  // LazyRegistry::entry()
  //
  // Returns the handle of entry `name`, untyped: status, load, unload, stats.
  // Thread safety: safe to call concurrently.
  // Throws: LazyError if `name` is not registered.
  // Invalidates: none; the handle lives as long as the registry.
  LazyHandleBase& entry(std::string_view name);
  const LazyHandleBase& entry(std::string_view name) const;

  // LazyRegistry::load()
  //
  // Loads entry `name` (and its dependencies) on this thread if it is not
  // loaded, and returns once it is.
  // Thread safety: safe to call concurrently.
  // Throws: LazyError if `name` is not registered; LoadError as get() does,
  // naming a missing or failed dependency; CycleError.
  // Invalidates: none.
  void load(std::string_view name);

  // LazyRegistry::load_async()
  //
  // Queues entry `name` for loading on the background workers (or the
  // executor), ahead of the background pass, and returns a future that
  // becomes ready when it is loaded, or holds the LoadError. A future of an
  // entry already loaded is ready at once.
  // Thread safety: safe to call concurrently.
  // Throws: LazyError if `name` is not registered. If the registry is
  // destroyed before the load starts, the future holds
  // std::future_error(broken_promise).
  // Invalidates: none.
  std::future<void> load_async(std::string_view name);

  // LazyRegistry::unload()
  //
  // As LazyHandle::unload() on entry `name`.
  // Thread safety: safe to call concurrently.
  // Throws: LazyError if `name` is not registered.
  // Invalidates: references and pointers from get() on that entry.
  void unload(std::string_view name);

  // LazyRegistry::load_all()
  //
  // Loads every entry that is not loaded, on this thread, in priority order
  // (dependencies first). A failure does not stop the others; it is recorded
  // in the entry's status. Returns the number of entries that failed.
  // Thread safety: safe to call concurrently.
  // Throws: none beyond std::bad_alloc.
  // Invalidates: none.
  std::size_t load_all();

  // LazyRegistry::start_background()
  //
  // Queues every entry that is not loaded or loading, in priority order with
  // dependencies first, and starts loading them on the background workers at
  // once. Queued entries show `queued`. Calling it again queues what has been
  // added or unloaded since.
  // Thread safety: safe to call concurrently.
  // Throws: std::system_error if a thread cannot be started.
  // Invalidates: none.
  void start_background();

  // LazyRegistry::wait_idle()
  //
  // Waits until no entry is queued or loading, at most `timeout`. Returns
  // whether that happened.
  // Thread safety: safe to call concurrently; do not call it from a loader
  // (it would wait for itself until the timeout).
  // Throws: none beyond std::system_error from the locks.
  // Invalidates: none.
  template <class Rep, class Period>
  bool wait_idle(const std::chrono::duration<Rep, Period>& timeout) const;

  // LazyRegistry::save_profile()
  //
  // Writes a usage profile to `path`: the entries loaded during this run,
  // in the order they first loaded, with their load counts, uses (loads plus
  // leases) and last load time, as a small JSON file. The file is written to
  // a temporary name and renamed, so a crash never leaves half a profile.
  // Thread safety: safe to call concurrently with every member.
  // Throws: LazyError naming the path and the OS error if it cannot be
  // written.
  // Invalidates: none.
  void save_profile(const std::string& path) const;

  // LazyRegistry::preload_profile()
  //
  // Reads a profile written by save_profile() (an earlier run) and queues
  // its entries for loading in the background, the most used first, ahead of
  // any background pass: a warm start. Names not registered are skipped and
  // listed in the report. A missing file is a no-op (`found` is false); a
  // file that cannot be read or parsed queues nothing and says why in
  // `error`. It never throws for the file's sake.
  // Thread safety: safe to call concurrently with every member.
  // Throws: std::bad_alloc, std::system_error if a thread cannot start.
  // Invalidates: none.
  ProfileReport preload_profile(const std::string& path);

  // LazyRegistry::snapshot()
  //
  // Returns the state of every entry and the totals, as a plain value.
  // Thread safety: safe to call concurrently, also while loads run.
  // Throws: std::bad_alloc only.
  // Invalidates: none.
  RegistrySnapshot snapshot() const;

  // LazyRegistry::timeline()
  //
  // Returns the finished loads recorded, oldest first (at most
  // RegistryOptions::timeline_capacity of them).
  // Thread safety: safe to call concurrently.
  // Throws: std::bad_alloc only. Invalidates: none.
  std::vector<LoadRecord> timeline() const;

  // LazyRegistry::names()
  //
  // Returns the registered names in registration order.
  // Thread safety: safe to call concurrently.
  // Throws: std::bad_alloc only. Invalidates: none.
  std::vector<std::string> names() const;

  // LazyRegistry::size()
  //
  // Returns the number of registered entries.
  // Thread safety: safe to call concurrently. Throws: none beyond
  // std::system_error from the lock. Invalidates: none.
  std::size_t size() const;

  // LazyRegistry::options()
  //
  // Returns the options the registry was created with.
  // Thread safety: safe to call concurrently. Throws: none.
  // Invalidates: none.
  const RegistryOptions& options() const noexcept { return options_; }

 private:
  class Entry;
  class Scheduler;

  Entry& find(std::string_view name) const;
  Entry& add_entry(std::string name, std::unique_ptr<LazyHandleBase> handle,
                   EntryOptions options);
  void check_declared_cycle(const std::string& name,
                            const std::vector<std::string>& depends_on) const;
  std::vector<Entry*> load_order() const;
  bool is_idle() const;
  void changed(const StatusChange& change) noexcept;
  void recorded(const LoadRecord& record) noexcept;
  void before_load(Entry& entry);
  void after_load(Entry& entry) noexcept;
  std::size_t evict_until(const Entry* keep, std::size_t target) noexcept;
  void check_pressure(const Entry* keep) noexcept;
  void evict_idle() noexcept;
  void janitor_loop();
  std::size_t loaded_bytes() const;
  static std::size_t size_of(const Entry& entry);
  PressureLevel level_of(std::size_t bytes) const noexcept;

  const RegistryOptions options_;
  mutable std::shared_mutex mutex_;
  std::vector<std::unique_ptr<Entry>> entries_;         // guarded by mutex_
  std::map<std::string, Entry*, std::less<>> by_name_;  // guarded by mutex_

  mutable std::mutex idle_mutex_;
  mutable std::condition_variable idle_cv_;  // signalled on status changes

  mutable std::mutex timeline_mutex_;
  std::deque<LoadRecord> timeline_;  // guarded by timeline_mutex_

  std::mutex budget_mutex_;  // serializes eviction passes
  std::atomic<std::uint64_t> overshoots_{0};
  std::atomic<std::uint64_t> first_loads_{0};  // entries loaded so far
  mutable std::mutex pressure_mutex_;
  PressureLevel level_ = PressureLevel::normal;  // guarded by pressure_mutex_

  // Evicts idle entries; started by the first add() with an idle_timeout.
  std::mutex janitor_mutex_;
  std::condition_variable janitor_cv_;
  std::thread janitor_;        // guarded by janitor_mutex_
  bool janitor_stop_ = false;  // guarded by janitor_mutex_
  std::chrono::steady_clock::duration
      janitor_period_{};  // guarded by janitor_mutex_

  std::shared_ptr<Scheduler> scheduler_;
};

// End of public interfaces.
// Implementation details follow.

// One registered resource: its handle, its registry-level options, and the
// observer the handle reports to.
class LazyRegistry::Entry final : public detail::HandleObserver {
 public:
  Entry(LazyRegistry& registry, std::unique_ptr<LazyHandleBase> h,
        EntryOptions opts, std::size_t index)
      : registry_(registry),
        handle(std::move(h)),
        options(std::move(opts)),
        order(index) {}

  void before_load(LazyHandleBase& /*handle*/) override {
    registry_.before_load(*this);
  }
  void after_load(LazyHandleBase& /*handle*/) noexcept override {
    registry_.after_load(*this);
  }
  void changed(LazyHandleBase& /*handle*/,
               const StatusChange& change) noexcept override {
    registry_.changed(change);
  }
  void recorded(const LoadRecord& record) noexcept override {
    if (record.ok && first_load.load(std::memory_order_relaxed) == 0) {
      first_load.store(registry_.first_loads_.fetch_add(1) + 1,
                       std::memory_order_relaxed);
    }
    registry_.recorded(record);
  }

  LazyRegistry& registry_;
  const std::unique_ptr<LazyHandleBase> handle;
  const EntryOptions options;
  const std::size_t order;  // registration index
  std::atomic<std::uint64_t> evictions{0};
  // When this entry first loaded in this run, as a registry-wide count (0:
  // not yet); the order save_profile() writes.
  std::atomic<std::uint64_t> first_load{0};
};

// The background queue and its workers. Shared with executor tasks, which
// may outlive the registry; `stopping_` tells them to return at once.
class LazyRegistry::Scheduler {
 public:
  explicit Scheduler(const RegistryOptions& options)
      : executor_(options.executor),
        workers_wanted_(
            options.workers != 0
                ? options.workers
                : std::min(
                      4U, std::max(1U, std::thread::hardware_concurrency()))) {}

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  ~Scheduler() { stop(); }

  // Queues a background load of `entry` (already marked queued).
  void submit(Entry* entry) { push(Task{entry, nullptr}, false); }

  // Queues a warm-start load, served before the background pass.
  void submit_first(Entry* entry) { push(Task{entry, nullptr}, true); }

  // Queues an explicit request, served before the background pass.
  void submit(Entry* entry, std::promise<void> promise) {
    push(Task{entry, std::make_unique<std::promise<void>>(std::move(promise))},
         true);
  }

  // Stops: queued tasks are dropped, running ones are joined.
  void stop() noexcept {
    std::vector<std::thread> workers;
    std::deque<Task> dropped;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      stopping_ = true;
      workers.swap(workers_);
      dropped.swap(requests_);
      for (auto& t : background_) dropped.push_back(std::move(t));
      background_.clear();
      cv_.notify_all();
    }
    for (auto& w : workers) w.join();
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return running_ == 0; });
    // `dropped` goes out of scope here: its promises become broken.
  }

  // Runs the next queued task, if any; what executor tasks and workers do.
  // Returns false once stopping.
  bool run_one(bool block) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (block) {
        cv_.wait(lock, [this] {
          return stopping_ || !requests_.empty() || !background_.empty();
        });
      }
      if (stopping_) return false;
      std::deque<Task>& queue = requests_.empty() ? background_ : requests_;
      if (queue.empty()) return true;
      task = std::move(queue.front());
      queue.pop_front();
      ++running_;
    }
    run(task);
    std::lock_guard<std::mutex> lock(mutex_);
    --running_;
    cv_.notify_all();
    return true;
  }

 private:
  struct Task {
    Entry* entry = nullptr;
    std::unique_ptr<std::promise<void>> promise;  // explicit requests only
  };

  static void run(Task& task) {
    if (task.promise) {
      try {
        task.entry->handle->load();
        task.promise->set_value();
      } catch (...) {
        task.promise->set_exception(std::current_exception());
      }
      return;
    }
    try {
      task.entry->handle->load_if_queued();
    } catch (...) {
      // Recorded in the entry's status and error; nobody waits on it here.
    }
  }

  void push(Task task, bool request) {
    std::function<void()> job;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      (request ? requests_ : background_).push_back(std::move(task));
      if (!executor_) {
        while (workers_.size() < workers_wanted_) {
          workers_.emplace_back([this] {
            while (run_one(true)) {
            }
          });
        }
        cv_.notify_one();
        return;
      }
    }
    // Each executor task runs the next task in queue order, whichever that
    // is, so that priority holds even on a FIFO executor.
    std::weak_ptr<Scheduler> self = self_;
    executor_([self] {
      if (auto s = self.lock()) s->run_one(false);
    });
  }

  friend class LazyRegistry;

  const std::function<void(std::function<void()>)> executor_;
  const unsigned workers_wanted_;
  std::weak_ptr<Scheduler> self_;  // set by the registry after creation

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Task> requests_;         // guarded by mutex_
  std::deque<Task> background_;       // guarded by mutex_
  std::vector<std::thread> workers_;  // guarded by mutex_
  unsigned running_ = 0;              // guarded by mutex_
  bool stopping_ = false;             // guarded by mutex_
};

inline LazyRegistry::LazyRegistry(RegistryOptions options)
    : options_(std::move(options)),
      scheduler_(std::make_shared<Scheduler>(options_)) {
  scheduler_->self_ = scheduler_;
  if (options_.pressure) {
    const PressureLevels& p = *options_.pressure;
    if (options_.memory_budget == 0) {
      detail::throw_error<LazyError>(
          "lazyload: pressure levels need a memory_budget");
    }
    if (!(p.warning > 0.0 && p.warning <= p.critical && p.critical <= 1.0)) {
      detail::throw_error<LazyError>(
          "lazyload: pressure levels must satisfy 0 < warning <= critical <= "
          "1, got warning " +
          std::to_string(p.warning) + " and critical " +
          std::to_string(p.critical));
    }
  }
}

inline LazyRegistry::~LazyRegistry() {
  {
    std::lock_guard<std::mutex> lock(janitor_mutex_);
    janitor_stop_ = true;
  }
  janitor_cv_.notify_all();
  if (janitor_.joinable()) janitor_.join();
  scheduler_->stop();
}

template <class T, class F>
auto LazyRegistry::add(std::string name, F loader, EntryOptions options)
    -> LazyHandle<
        std::conditional_t<std::is_void_v<T>, detail::loaded_type_t<F>, T>>& {
  using Value =
      std::conditional_t<std::is_void_v<T>, detail::loaded_type_t<F>, T>;
  HandleOptions handle_options;
  handle_options.warmup = options.warmup;
  handle_options.failure_cooldown = options.failure_cooldown;
  auto handle = std::make_unique<LazyHandle<Value>>(name, std::move(loader),
                                                    std::move(handle_options));
  LazyHandle<Value>& typed = *handle;
  add_entry(std::move(name), std::move(handle), std::move(options));
  return typed;
}

inline LazyRegistry::Entry& LazyRegistry::add_entry(
    std::string name, std::unique_ptr<LazyHandleBase> handle,
    EntryOptions options) {
  if (name.empty()) {
    detail::throw_error<LazyError>(
        "lazyload: a resource name must not be empty");
  }
  std::unique_lock<std::shared_mutex> lock(mutex_);
  if (by_name_.find(name) != by_name_.end()) {
    detail::throw_error<LazyError>("lazyload: resource " +
                                   detail::quoted(name) +
                                   " is already registered");
  }
  check_declared_cycle(name, options.depends_on);
  const auto idle = options.idle_timeout;
  if (idle > std::chrono::steady_clock::duration{} && !options.evictable) {
    detail::throw_error<LazyError>("lazyload: resource " +
                                   detail::quoted(name) +
                                   " has an idle_timeout but is not evictable");
  }
  if (idle > std::chrono::steady_clock::duration{}) {
    // Checks four times per shortest timeout, between 1 ms and 1 s.
    const auto period = std::clamp<std::chrono::steady_clock::duration>(
        idle / 4, std::chrono::milliseconds(1), std::chrono::seconds(1));
    std::lock_guard<std::mutex> janitor(janitor_mutex_);
    if (janitor_period_ == std::chrono::steady_clock::duration{} ||
        period < janitor_period_) {
      janitor_period_ = period;
    }
    if (!janitor_.joinable())
      janitor_ = std::thread([this] { janitor_loop(); });
  }
  LazyHandleBase* raw = handle.get();
  auto entry = std::make_unique<Entry>(*this, std::move(handle),
                                       std::move(options), entries_.size());
  raw->observer_ = entry.get();
  Entry& ref = *entry;
  entries_.push_back(std::move(entry));
  by_name_.emplace(std::move(name), &ref);
  return ref;
}

// Refuses a dependency list that leads back to `name` through the declared
// dependencies of registered entries.
inline void LazyRegistry::check_declared_cycle(
    const std::string& name, const std::vector<std::string>& depends_on) const {
  // Depth-first search keeping the path, so that the message shows it.
  std::vector<std::string> path{name};
  std::vector<std::string> done;
  std::function<bool(const std::string&)> reaches = [&](const std::string& at) {
    if (at == name) return true;
    if (std::find(done.begin(), done.end(), at) != done.end()) return false;
    const auto it = by_name_.find(at);
    if (it != by_name_.end()) {
      path.push_back(at);
      for (const std::string& next : it->second->options.depends_on) {
        if (reaches(next)) return true;
      }
      path.pop_back();
    }
    done.push_back(at);
    return false;
  };
  for (const std::string& dep : depends_on) {
    if (reaches(dep)) {
      std::string chain;
      for (const std::string& step : path)
        chain += detail::quoted(step) + " -> ";
      chain += detail::quoted(name);
      detail::throw_error<CycleError>("lazyload: adding " +
                                      detail::quoted(name) +
                                      " closes a dependency cycle: " + chain);
    }
  }
}

inline LazyRegistry::Entry& LazyRegistry::find(std::string_view name) const {
  {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    const auto it = by_name_.find(name);
    if (LAZYLOAD_PREDICT_TRUE(it != by_name_.end())) return *it->second;
  }
  detail::throw_error<LazyError>("lazyload: resource " +
                                 detail::quoted(std::string(name)) +
                                 " is not registered");
}

template <class T> LazyHandle<T>& LazyRegistry::handle(std::string_view name) {
  Entry& entry = find(name);
  if (LAZYLOAD_PREDICT_FALSE(entry.handle->type() != typeid(T))) {
    detail::throw_error<LazyError>(
        "lazyload: resource " + detail::quoted(std::string(name)) + " holds " +
        detail::type_name(entry.handle->type()) + ", not " +
        detail::type_name(typeid(T)));
  }
  return static_cast<LazyHandle<T>&>(*entry.handle);
}

inline LazyHandleBase& LazyRegistry::entry(std::string_view name) {
  return *find(name).handle;
}

inline const LazyHandleBase& LazyRegistry::entry(std::string_view name) const {
  return *find(name).handle;
}

inline void LazyRegistry::load(std::string_view name) {
  find(name).handle->load();
}

inline void LazyRegistry::unload(std::string_view name) {
  find(name).handle->unload();
}

inline bool LazyRegistry::contains(std::string_view name) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return by_name_.find(name) != by_name_.end();
}

inline std::size_t LazyRegistry::size() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return entries_.size();
}

inline std::vector<std::string> LazyRegistry::names() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(e->handle->name());
  return out;
}

// Priority order (ties in registration order), each entry preceded by its
// registered dependencies.
inline std::vector<LazyRegistry::Entry*> LazyRegistry::load_order() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::vector<Entry*> by_priority;
  by_priority.reserve(entries_.size());
  for (const auto& e : entries_) by_priority.push_back(e.get());
  std::stable_sort(by_priority.begin(), by_priority.end(),
                   [](const Entry* a, const Entry* b) {
                     return a->options.priority < b->options.priority;
                   });
  std::vector<Entry*> order;
  order.reserve(by_priority.size());
  std::vector<bool> placed(entries_.size(), false);
  // Declared cycles are refused by add(), so this terminates.
  std::function<void(Entry*)> place = [&](Entry* e) {
    if (placed[e->order]) return;
    placed[e->order] = true;
    for (const std::string& dep : e->options.depends_on) {
      const auto it = by_name_.find(dep);
      if (it != by_name_.end()) place(it->second);
    }
    order.push_back(e);
  };
  for (Entry* e : by_priority) place(e);
  return order;
}

inline std::future<void> LazyRegistry::load_async(std::string_view name) {
  Entry& entry = find(name);
  std::promise<void> promise;
  std::future<void> future = promise.get_future();
  if (entry.handle->is_loaded()) {
    promise.set_value();
    return future;
  }
  entry.handle->mark_queued();
  scheduler_->submit(&entry, std::move(promise));
  return future;
}

inline std::size_t LazyRegistry::load_all() {
  std::size_t failures = 0;
  for (Entry* e : load_order()) {
    try {
      e->handle->load();
    } catch (const std::exception&) {
      ++failures;
    }
  }
  return failures;
}

inline void LazyRegistry::start_background() {
  for (Entry* e : load_order()) {
    if (e->handle->mark_queued()) scheduler_->submit(e);
  }
}

inline bool LazyRegistry::is_idle() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  for (const auto& e : entries_) {
    const Status s = e->handle->status();
    if (s == Status::queued || s == Status::loading) return false;
  }
  return true;
}

template <class Rep, class Period>
bool LazyRegistry::wait_idle(
    const std::chrono::duration<Rep, Period>& timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(idle_mutex_);
  for (;;) {
    if (is_idle()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // Woken on every status change; the slice is a safety net only.
    idle_cv_.wait_until(lock,
                        std::min(deadline, std::chrono::steady_clock::now() +
                                               std::chrono::milliseconds(50)));
  }
}

inline std::size_t LazyRegistry::size_of(const Entry& entry) {
  const std::size_t reported = entry.handle->progress_.size_bytes();
  return reported != 0 ? reported : entry.options.size_bytes;
}

inline RegistrySnapshot LazyRegistry::snapshot() const {
  RegistrySnapshot out;
  out.memory_budget = options_.memory_budget;
  out.budget_overshoots = overshoots_.load(std::memory_order_relaxed);
  out.rss_bytes = process_rss_bytes();
  {
    std::lock_guard<std::mutex> lock(pressure_mutex_);
    out.pressure = level_;
  }
  std::shared_lock<std::shared_mutex> lock(mutex_);
  out.entries.reserve(entries_.size());
  for (const auto& e : entries_) {
    HandleStats stats = e->handle->stats();
    EntrySnapshot s;
    s.name = std::move(stats.name);
    s.type = detail::type_name(e->handle->type());
    s.status = stats.status;
    s.priority = e->options.priority;
    s.load_time = std::chrono::duration<double>(stats.last_load_time).count();
    s.error = std::move(stats.last_error);
    s.loads = stats.loads;
    s.failures = stats.failures;
    s.evictions = e->evictions.load(std::memory_order_relaxed);
    s.uses = stats.uses;
    s.progress = stats.progress;
    s.stage = std::move(stats.stage);
    s.depends_on = e->options.depends_on;
    s.size_bytes =
        stats.reported_size != 0 ? stats.reported_size : e->options.size_bytes;
    s.evictable = e->options.evictable;
    s.required = e->options.required;
    s.last_loaded_at = stats.last_loaded_at;
    switch (s.status) {
    case Status::unloaded:
      ++out.unloaded;
      break;
    case Status::queued:
      ++out.queued;
      break;
    case Status::loading:
      ++out.loading;
      break;
    case Status::loaded:
      ++out.loaded;
      out.bytes_loaded += s.size_bytes;
      break;
    case Status::failed:
      ++out.failed;
      break;
    }
    if (s.required && s.status != Status::loaded)
      out.not_ready.push_back(s.name);
    out.entries.push_back(std::move(s));
  }
  out.total = out.entries.size();
  out.is_loading = out.queued + out.loading > 0;
  out.progress_percentage = out.total == 0
                                ? 0.0
                                : 100.0 * static_cast<double>(out.loaded) /
                                      static_cast<double>(out.total);
  return out;
}

inline void LazyRegistry::save_profile(const std::string& path) const {
  struct Used {
    std::uint64_t first;
    const Entry* entry;
  };
  std::vector<Used> used;
  {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    for (const auto& e : entries_) {
      const std::uint64_t first = e->first_load.load(std::memory_order_relaxed);
      if (first != 0) used.push_back({first, e.get()});
    }
  }
  std::sort(used.begin(), used.end(),
            [](const Used& a, const Used& b) { return a.first < b.first; });
  std::string out =
      "{\"format\": \"lazyload-profile\", \"version\": 1, "
      "\"entries\": [";
  for (std::size_t i = 0; i < used.size(); ++i) {
    const HandleStats stats = used[i].entry->handle->stats();
    out += i == 0 ? "\n  {\"name\": " : ",\n  {\"name\": ";
    detail::append_json_string(out, stats.name);
    out += ", \"order\": ";
    detail::append_number(out, static_cast<std::uint64_t>(i + 1));
    out += ", \"loads\": ";
    detail::append_number(out, stats.loads);
    out += ", \"uses\": ";
    detail::append_number(out, stats.uses);
    out += ", \"load_time\": ";
    detail::append_number(
        out, std::chrono::duration<double>(stats.last_load_time).count());
    out += "}";
  }
  out += "\n]}\n";
  const std::string temporary = path + ".tmp";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    file << out;
    file.close();
    if (!file) {
      std::remove(temporary.c_str());
      detail::throw_error<LazyError>("lazyload: cannot write profile " +
                                     detail::quoted(path));
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    detail::throw_error<LazyError>("lazyload: cannot write profile " +
                                   detail::quoted(path));
  }
}

inline ProfileReport LazyRegistry::preload_profile(const std::string& path) {
  ProfileReport report;
  std::ifstream file(path, std::ios::binary);
  if (!file) return report;  // no profile yet: nothing to warm
  report.found = true;
  std::ostringstream text;
  text << file.rdbuf();
  struct Wanted {
    std::string name;
    double uses;
    double order;
  };
  std::vector<Wanted> wanted;
  try {
    const detail::JsonValue root = detail::JsonReader::parse(text.str());
    const detail::JsonValue* format = root.find("format");
    const detail::JsonValue* entries = root.find("entries");
    if (format == nullptr || format->string != "lazyload-profile" ||
        entries == nullptr || entries->kind != detail::JsonValue::Kind::array) {
      detail::throw_error<LazyError>("not a lazyload profile");
    }
    for (const detail::JsonValue& e : entries->items) {
      const detail::JsonValue* name = e.find("name");
      if (name == nullptr || name->kind != detail::JsonValue::Kind::string) {
        detail::throw_error<LazyError>("an entry has no name");
      }
      const detail::JsonValue* uses = e.find("uses");
      const detail::JsonValue* order = e.find("order");
      wanted.push_back({name->string, uses != nullptr ? uses->number : 0.0,
                        order != nullptr ? order->number : 0.0});
    }
  } catch (const LazyError& e) {
    report.error = "lazyload: profile " + detail::quoted(path) +
                   " is corrupt: " + e.what();
    return report;
  }
  // The most used first; among equals, the one that loaded first.
  std::stable_sort(
      wanted.begin(), wanted.end(), [](const Wanted& a, const Wanted& b) {
        return a.uses != b.uses ? a.uses > b.uses : a.order < b.order;
      });
  for (const Wanted& w : wanted) {
    Entry* entry = nullptr;
    {
      std::shared_lock<std::shared_mutex> lock(mutex_);
      const auto it = by_name_.find(w.name);
      if (it != by_name_.end()) entry = it->second;
    }
    if (entry == nullptr) {
      report.unknown.push_back(w.name);
      continue;
    }
    if (entry->handle->mark_queued()) {
      scheduler_->submit_first(entry);
      report.queued.push_back(w.name);
    }
  }
  return report;
}

inline std::vector<LoadRecord> LazyRegistry::timeline() const {
  std::lock_guard<std::mutex> lock(timeline_mutex_);
  return {timeline_.begin(), timeline_.end()};
}

inline void LazyRegistry::changed(const StatusChange& change) noexcept {
  if (options_.on_change) {
    try {
      options_.on_change(change);
    } catch (...) {
      // A monitoring callback must not break loading.
    }
  }
  { std::lock_guard<std::mutex> lock(idle_mutex_); }
  idle_cv_.notify_all();
}

inline void LazyRegistry::recorded(const LoadRecord& record) noexcept {
  try {
    std::lock_guard<std::mutex> lock(timeline_mutex_);
    if (options_.timeline_capacity == 0) return;
    if (timeline_.size() >= options_.timeline_capacity) timeline_.pop_front();
    timeline_.push_back(record);
  } catch (...) {
    // Out of memory for a record: the timeline misses one load.
  }
}

inline void LazyRegistry::before_load(Entry& entry) {
  for (const std::string& dep : entry.options.depends_on) {
    Entry* target = nullptr;
    {
      std::shared_lock<std::shared_mutex> lock(mutex_);
      const auto it = by_name_.find(dep);
      if (it != by_name_.end()) target = it->second;
    }
    if (target == nullptr) {
      detail::throw_error<LoadError>(
          "lazyload: dependency " + detail::quoted(dep) + " is not registered");
    }
    target->handle->load();
  }
  // A declared size lets the registry make room before the loader runs.
  const std::size_t budget = options_.memory_budget;
  const std::size_t incoming = entry.options.size_bytes;
  if (budget != 0 && incoming != 0) {
    evict_until(&entry, incoming >= budget ? 0 : budget - incoming);
  }
}

inline void LazyRegistry::after_load(Entry& entry) noexcept {
  const std::size_t budget = options_.memory_budget;
  if (budget == 0) return;
  // The size may be known only now; the new entry itself is never evicted.
  if (evict_until(&entry, budget) > budget) {
    overshoots_.fetch_add(1, std::memory_order_relaxed);
  }
  check_pressure(&entry);
}

inline std::size_t LazyRegistry::loaded_bytes() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::size_t total = 0;
  for (const auto& e : entries_) {
    if (e->handle->is_loaded()) total += size_of(*e);
  }
  return total;
}

// Evicts evictable, loaded entries that nobody leases, least recently leased
// first, until the loaded total is at most `target`; `keep` is never
// evicted. Returns the loaded total it leaves. Evictions are reported after
// the pass, so that no callback runs under budget_mutex_.
inline std::size_t LazyRegistry::evict_until(const Entry* keep,
                                             std::size_t target) noexcept {
  std::vector<Entry*> evicted;
  std::size_t loaded = 0;
  try {
    std::lock_guard<std::mutex> pass(budget_mutex_);
    // (last use, entry): the use is read once, because leases keep changing
    // it and std::sort needs keys that hold still.
    std::vector<std::pair<std::uint64_t, Entry*>> candidates;
    {
      std::shared_lock<std::shared_mutex> lock(mutex_);
      for (const auto& e : entries_) {
        if (!e->handle->is_loaded()) continue;
        loaded += size_of(*e);
        if (e.get() != keep && e->options.evictable) {
          candidates.emplace_back(
              e->handle->last_used_seq_.load(std::memory_order_relaxed),
              e.get());
        }
      }
    }
    if (loaded <= target) return loaded;
    std::sort(candidates.begin(), candidates.end());
    for (const auto& [last_use, e] : candidates) {
      if (loaded <= target) break;
      const std::size_t size = size_of(*e);
      if (e->handle->unload_impl(/*only_if_unused=*/true, /*report=*/false)) {
        e->evictions.fetch_add(1, std::memory_order_relaxed);
        loaded -= std::min(loaded, size);
        evicted.push_back(e);
      }
    }
  } catch (...) {
    // Out of memory while making room: the budget is a target, not a rule.
  }
  for (Entry* e : evicted) {
    e->handle->notify(Status::loaded, Status::unloaded, {}, {},
                      /*eviction=*/true);
  }
  return loaded;
}

inline PressureLevel LazyRegistry::level_of(std::size_t bytes) const noexcept {
  if (!options_.pressure) return PressureLevel::normal;
  const double used =
      static_cast<double>(bytes) / static_cast<double>(options_.memory_budget);
  if (used >= options_.pressure->critical) return PressureLevel::critical;
  if (used >= options_.pressure->warning) return PressureLevel::warning;
  return PressureLevel::normal;
}

// Raises an event when a threshold was crossed upward since the last check,
// and at critical evicts down to the warning level (never `keep`, the entry
// just loaded, which its caller is about to use).
inline void LazyRegistry::check_pressure(const Entry* keep) noexcept {
  if (!options_.pressure) return;
  const std::size_t budget = options_.memory_budget;
  std::size_t bytes = loaded_bytes();
  PressureLevel now = level_of(bytes);
  PressureLevel before;
  {
    std::lock_guard<std::mutex> lock(pressure_mutex_);
    before = level_;
    level_ = now;
  }
  if (now > before && options_.on_pressure) {
    try {
      options_.on_pressure(PressureEvent{now, bytes, budget});
    } catch (...) {
      // A monitoring callback must not break loading.
    }
  }
  if (now == PressureLevel::critical) {
    const auto warning = static_cast<std::size_t>(options_.pressure->warning *
                                                  static_cast<double>(budget));
    bytes = evict_until(keep, warning);
    std::lock_guard<std::mutex> lock(pressure_mutex_);
    level_ = level_of(bytes);
  }
}

inline void LazyRegistry::evict_idle() noexcept {
  std::vector<Entry*> evicted;
  try {
    const auto now =
        std::chrono::steady_clock::now().time_since_epoch().count();
    std::vector<Entry*> idle;
    {
      std::shared_lock<std::shared_mutex> lock(mutex_);
      for (const auto& e : entries_) {
        const auto timeout = e->options.idle_timeout.count();
        if (timeout <= 0 || !e->handle->is_loaded()) continue;
        const auto used =
            e->handle->last_used_at_.load(std::memory_order_relaxed);
        if (now - used >= timeout) idle.push_back(e.get());
      }
    }
    for (Entry* e : idle) {
      if (e->handle->unload_impl(/*only_if_unused=*/true, /*report=*/false)) {
        e->evictions.fetch_add(1, std::memory_order_relaxed);
        evicted.push_back(e);
      }
    }
  } catch (...) {
    // Out of memory: try again on the next tick.
  }
  for (Entry* e : evicted) {
    e->handle->notify(Status::loaded, Status::unloaded, {}, {},
                      /*eviction=*/true);
  }
  if (!evicted.empty()) check_pressure(nullptr);
}

inline void LazyRegistry::janitor_loop() {
  std::unique_lock<std::mutex> lock(janitor_mutex_);
  while (!janitor_stop_) {
    janitor_cv_.wait_for(lock, janitor_period_);
    if (janitor_stop_) break;
    lock.unlock();
    evict_idle();
    lock.lock();
  }
}

}  // namespace lazyload

#endif  // LAZYLOAD_REGISTRY_HPP_
