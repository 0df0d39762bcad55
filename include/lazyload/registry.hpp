// lazyload/registry.hpp
//
// `LazyRegistry`: named lazily loaded resources of any types, with priorities,
// dependencies, background loading, load and unload by name, and one status
// snapshot that every monitoring format reads.
//
// Example Usage:
//
//   lazyload::LazyRegistry registry;
//   registry.add("orchestrator",
//                [] { return std::make_unique<Orchestrator>(); });
//   lazyload::EntryOptions dqn;
//   dqn.priority = 1;
//   dqn.depends_on = {"orchestrator"};
//   registry.add("dqn", [&] {
//     return load_dqn(registry.get<Orchestrator>("orchestrator"));
//   }, dqn);
//   registry.start_background();            // loads by priority, 1 first
//   Model& m = registry.get<Model>("dqn");  // or now, on this thread
//   lazyload::RegistrySnapshot s = registry.snapshot();
//
// Rationale:
//
// * Entries are `LazyHandle<T>`s owned by the registry at stable addresses,
//   so `add()` returns a reference that lives as long as the registry, and a
//   caller that keeps it pays the handle's fast path, not a lookup.
// * Entries are never removed, only unloaded: nothing handed out dangles.
// * Dependencies load on the loading thread, inside the dependent's load, so
//   the handles' deadlock detection covers them; a declared cycle is refused
//   when the entry that closes it is added.
// * Background loads run on a small pool of the registry's own threads, or on
//   an executor the program already has. Destroying the registry never waits
//   for queued loads: they never start. Running ones are asked to stop
//   (Progress::stop_requested()) and joined.
// * A failed load may be retried in the background on a backoff schedule
//   (EntryOptions::retry; required entries by default), and an entry may be
//   kept loaded, so that readiness heals without anyone asking.
// * Every status change is reported to an optional callback, always called
//   without any lazyload lock held, so the callback may call the registry.
//
// The registry composes rooms of its own under detail/: the entry table
// (registry_entry.hpp), the dependency walks (dependency_graph.hpp), the
// background scheduler (scheduler.hpp), the memory budget
// (memory_budget.hpp) and the idle-eviction thread (periodic_worker.hpp).
// Its options are in registry_options.hpp, its snapshot in snapshot.hpp, and
// the warm-start profile in profile.hpp.

#ifndef LAZYLOAD_REGISTRY_HPP_
#define LAZYLOAD_REGISTRY_HPP_

#include <algorithm>           // std::clamp, std::min
#include <chrono>              // std::chrono::steady_clock
#include <condition_variable>  // std::condition_variable
#include <cstddef>             // std::size_t
#include <cstdint>             // std::uint64_t
#include <deque>               // std::deque
#include <exception>           // std::exception_ptr
#include <future>              // std::future, std::promise
#include <memory>              // std::unique_ptr, std::shared_ptr
#include <mutex>               // std::mutex, std::lock_guard, std::unique_lock
#include <string>              // std::string
#include <string_view>         // std::string_view
#include <type_traits>         // std::conditional_t, std::is_void_v
#include <utility>             // std::move
#include <vector>              // std::vector

#include "detail/config.hpp"
#include "detail/deadline.hpp"
#include "detail/dependency_graph.hpp"
#include "detail/memory_budget.hpp"
#include "detail/periodic_worker.hpp"
#include "detail/registry_entry.hpp"
#include "detail/retry.hpp"
#include "detail/scheduler.hpp"
#include "detail/throw.hpp"
#include "detail/timer.hpp"
#include "detail/type_name.hpp"
#include "detail/utf8.hpp"
#include "error.hpp"
#include "events.hpp"
#include "handle.hpp"
#include "load_future.hpp"
#include "memory_pressure.hpp"
#include "registry_options.hpp"
#include "snapshot.hpp"
#include "status.hpp"

namespace lazyload {

namespace detail {
// Defined in profile.hpp: what the deprecated profile members call.
template <class Path> struct ProfileAccess;
}  // namespace detail

// LazyRegistry
//
// Owns named handles of any value types. This class is thread-safe: every
// member may be called concurrently, also from inside loaders and from the
// status-change callback. Neither copyable nor movable.
class LazyRegistry {
 public:
  // LazyRegistry::LazyRegistry(), LazyRegistry(RegistryOptions)
  //
  // Creates an empty registry, with default options or `options`. No thread
  // starts here.
  // Thread safety: none needed (construction).
  // Throws: LazyError if options.pressure is set without a memory_budget or
  // its levels are not 0 < warning <= critical <= 1.
  // Invalidates: none.
  LazyRegistry() : LazyRegistry(RegistryOptions{}) {}
  explicit LazyRegistry(RegistryOptions options);

  LazyRegistry(const LazyRegistry&) = delete;
  LazyRegistry& operator=(const LazyRegistry&) = delete;

  // LazyRegistry::~LazyRegistry()
  //
  // Returns promptly: queued loads never start (their futures become
  // broken); loads running on the registry's threads, its executor or its
  // retry timer are asked to stop (Progress::stop_requested()) and joined;
  // loads that would start meanwhile fail.
  // Thread safety: no other member may be running or called during or after
  // destruction (loads on the caller's own threads included), and no thread
  // may be waiting on one of its futures while it runs. A future waited on
  // afterwards throws std::future_error(broken_promise) or holds the result.
  // Throws: none.
  // Invalidates: every handle, reference and pointer the registry handed
  // out (leases keep their values alive).
  ~LazyRegistry();

  // LazyRegistry::add()
  //
  // Registers `loader` under `name` and returns its handle, whose address is
  // stable for the registry's lifetime. `T` is deduced from the loader as for
  // LazyHandle, or given: `add<Base>(name, loader)`. Nothing loads here.
  // Thread safety: safe to call concurrently with every member.
  // Throws: LazyError if `name` is empty, not valid UTF-8 (the message names
  // the first bad byte's offset and shows those bytes as \xHH) or already
  // registered, the warm-up does not take `T`, or an idle_timeout is set on
  // an entry that is not evictable; CycleError if `options.depends_on` closes
  // a cycle of declared dependencies. Nothing is registered when it throws.
  // Invalidates: none.
  template <class T = void, class F>
  auto add(std::string name, F loader, EntryOptions options = {}) -> LazyHandle<
      std::conditional_t<std::is_void_v<T>, loader_result_t<F>, T>>&;

  // LazyRegistry::contains()
  //
  // Returns whether `name` is registered. Takes no lock, allocates nothing.
  // Thread safety: safe to call concurrently. Throws: none.
  // Invalidates: none.
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
  // entry already loaded is ready at once, and so is one of an entry whose
  // failure is within its failure_cooldown: it holds that failure, and the
  // loader does not run. Waiting on the future with wait() or get() runs the
  // request on the waiting thread if it is still queued, and a wait that
  // would never end throws CycleError (see LoadFuture). A request the
  // executor refuses (its submit throws) fails the entry: the future holds
  // a LoadError naming it, with the executor's exception nested.
  // Thread safety: safe to call concurrently.
  // Throws: LazyError if `name` is not registered; std::bad_alloc. If the
  // registry is destroyed before the load starts, the future holds
  // std::future_error(broken_promise).
  // Invalidates: none.
  LoadFuture load_async(std::string_view name);

  // LazyRegistry::unload()
  //
  // As LazyHandle::unload() on entry `name`: a load in progress is cancelled.
  // Thread safety: safe to call concurrently.
  // Throws: LazyError if `name` is not registered.
  // Invalidates: references and pointers from get() on that entry.
  void unload(std::string_view name);

  // LazyRegistry::reload()
  //
  // As LazyHandle::reload() on entry `name`: loads a new value on this thread
  // while the current one keeps serving, then swaps it in.
  // Thread safety: safe to call concurrently.
  // Throws: LazyError if `name` is not registered; LoadError (the current
  // value still serves), LoadCancelled, CycleError as LazyHandle::reload().
  // Invalidates: references and pointers from get() to the old value, once
  // the new one is published. Leases stay valid.
  void reload(std::string_view name);

  // LazyRegistry::cancel()
  //
  // As LazyHandle::cancel() on entry `name`: asks its running load or reload
  // to stop; returns whether one was running.
  // Thread safety: safe to call concurrently.
  // Throws: LazyError if `name` is not registered. Invalidates: none.
  bool cancel(std::string_view name);

  // LazyRegistry::try_lease()
  //
  // As LazyHandle::try_lease() on entry `name`: a lease if it is loaded now,
  // else an empty pointer; never loads, never waits for a load.
  // Thread safety: safe to call concurrently.
  // Throws: LazyError if `name` is not registered or `T` is not its type.
  // Invalidates: none.
  template <class T> std::shared_ptr<T> try_lease(std::string_view name) {
    return handle<T>(name).try_lease();
  }

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
  // added or unloaded since. A failed entry within its failure_cooldown is
  // not queued. An entry nobody can load (the executor's submit throws, or
  // not one worker thread can start) fails with a LoadError naming it, with
  // that exception nested, instead of staying queued.
  // Thread safety: safe to call concurrently.
  // Throws: std::bad_alloc only; the executor's and the threads' exceptions
  // fail the entries, as above.
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

  // LazyRegistry::save_profile(), preload_profile()
  //
  // The old spelling of lazyload::save_profile(registry, path) and
  // lazyload::preload_profile(registry, path) from <lazyload/profile.hpp>
  // (which the umbrella header includes); kept for one minor release. They
  // compile only where profile.hpp is included.
  // Thread safety: as the free functions.
  // Throws: what the free functions throw.
  // Invalidates: as the free functions.
  template <class Path = std::string>
  [[deprecated(
      "use lazyload::save_profile(registry, path) from "
      "<lazyload/profile.hpp>")]] void
  save_profile(const Path& path) const {
    detail::ProfileAccess<Path>::save(*this, path);
  }
  template <class Path = std::string>
  [[deprecated(
      "use lazyload::preload_profile(registry, path) from "
      "<lazyload/profile.hpp>")]] auto
  preload_profile(const Path& path) {
    return detail::ProfileAccess<Path>::preload(*this, path);
  }

  // LazyRegistry::snapshot()
  //
  // Returns the state of every entry and the totals, as a plain value.
  // Thread safety: safe to call concurrently, also while loads run.
  // Throws: std::bad_alloc only.
  // Invalidates: none.
  RegistrySnapshot snapshot() const;

  // LazyRegistry::snapshot(name)
  //
  // Returns the state of entry `name` alone, as in snapshot().entries,
  // without reading the other entries.
  // Thread safety: safe to call concurrently, also while loads run.
  // Throws: LazyError if `name` is not registered; std::bad_alloc.
  // Invalidates: none.
  EntrySnapshot snapshot(std::string_view name) const;

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
  using Entry = detail::RegistryEntry;

  // The registry's side of its entries' events (see EntryEvents).
  // NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final (C.35)
  class Events final : public detail::EntryEvents {
   public:
    explicit Events(LazyRegistry& registry) : registry_(registry) {}
    void before_load(Entry& entry) override;
    void after_load(Entry& entry) noexcept override;
    void changed(Entry& entry, const StatusChange& change) noexcept override;
    void recorded(Entry& entry, const LoadRecord& record) noexcept override;

   private:
    LazyRegistry& registry_;
  };

  // Requires: no lock held; each step takes the locks it needs (the entry
  // table's, `timeline_mutex_`). Only is_idle() runs with one held:
  // wait_idle() calls it under `idle_mutex_`, which is taken before the
  // table's lock, never after.
  Entry& find(std::string_view name) const;
  Entry& add_entry(std::unique_ptr<LazyHandleBase> handle,
                   EntryOptions options);
  void watch_idle_timeout(const Entry& entry);
  std::vector<Entry*> load_order() const;
  bool is_idle() const;
  void load_dependencies(const Entry& entry);
  void record(Entry& entry, const LoadRecord& record) noexcept;
  static EntrySnapshot snapshot_of(const Entry& entry);
  void schedule_retry(Entry& entry) noexcept;
  void retry_now(Entry& entry, std::int64_t token, unsigned attempt) noexcept;
  bool queue_background(Entry& entry) noexcept;
  static void count(RegistrySnapshot& out, const EntrySnapshot& entry);

  // Locks: the entry table has its own (a shared_mutex: iteration shared,
  // add() exclusive; lookups by name take none), and so do the scheduler,
  // the memory budget and the idle worker. The registry's own three:
  // * `idle_mutex_` pairs with `idle_cv_`, which wait_idle() waits on and
  //   every status change signals; it guards no data.
  // * `timeline_mutex_` guards `timeline_`.
  // * `graph_` is guarded by the entry table's exclusive lock (add()).
  const RegistryOptions options_;
  Events events_{*this};
  detail::EntryTable table_;
  detail::DependencyGraph graph_;  // guarded by table_'s exclusive lock
  detail::MemoryBudget budget_;
  std::atomic<std::uint64_t> first_loads_{0};  // entries loaded so far

  mutable std::mutex idle_mutex_;
  mutable std::condition_variable idle_cv_;  // signalled on status changes

  mutable std::mutex timeline_mutex_;
  std::deque<LoadRecord> timeline_;  // guarded by timeline_mutex_

  detail::PeriodicWorker idle_worker_;  // evicts idle entries
  detail::Timer retry_timer_;           // runs the retry policy's retries
  std::atomic<bool> closing_{false};    // set first by the destructor
  std::shared_ptr<detail::Scheduler> scheduler_;
};

// End of public interfaces.
// Implementation details follow.

inline LazyRegistry::LazyRegistry(RegistryOptions options)
    : options_(std::move(options)),
      budget_(options_.memory_budget, options_.pressure, options_.on_pressure),
      scheduler_(detail::Scheduler::make(options_.executor, options_.workers)) {
}

inline LazyRegistry::~LazyRegistry() {
  // Loads that start from now on fail at once (Events::before_load); those
  // running are asked to stop, so that joining them below is prompt for
  // loaders that check Progress::stop_requested().
  closing_.store(true);
  table_.for_each([](const Entry& e) { e.handle->cancel(); });
  retry_timer_.stop();  // joins a retry that may run on its thread
  idle_worker_.stop();
  scheduler_->stop();
}

template <class T, class F>
// NOLINTNEXTLINE(performance-unnecessary-value-param): moved to add_entry()
auto LazyRegistry::add(std::string name, F loader, EntryOptions options)
    -> LazyHandle<
        std::conditional_t<std::is_void_v<T>, loader_result_t<F>, T>>& {
  using Value = std::conditional_t<std::is_void_v<T>, loader_result_t<F>, T>;
  if (name.empty()) {
    detail::throw_error<LazyError>(
        "lazyload: a resource name must not be empty");
  }
  auto handle = std::make_unique<LazyHandle<Value>>(
      std::move(name), std::move(loader),
      HandleOptions(static_cast<const HandleOptions&>(options)));
  LazyHandle<Value>& typed = *handle;
  add_entry(std::move(handle), std::move(options));
  return typed;
}

inline LazyRegistry::Entry& LazyRegistry::add_entry(
    std::unique_ptr<LazyHandleBase> handle, EntryOptions options) {
  detail::check_name_is_utf8(handle->name());
  if (options.idle_timeout > std::chrono::steady_clock::duration{} &&
      !options.evictable) {
    detail::throw_error<LazyError>("lazyload: resource " +
                                   detail::quoted(handle->name()) +
                                   " has an idle_timeout but is not evictable");
  }
  auto entry =
      std::make_unique<Entry>(events_, std::move(handle), std::move(options));
  const Entry& e = *entry;
  Entry& added = table_.add(std::move(entry), [&](const detail::EntryTable& t) {
    graph_.check_add(t, e.handle->name(), e.options.depends_on);
  });
  watch_idle_timeout(added);
  return added;
}

// Starts (or speeds up) the idle worker for an entry with an idle timeout:
// it checks four times per shortest timeout, between 1 ms and 1 s.
inline void LazyRegistry::watch_idle_timeout(const Entry& entry) {
  const auto idle = entry.options.idle_timeout;
  if (idle <= std::chrono::steady_clock::duration{}) return;
  const auto period = std::clamp<std::chrono::steady_clock::duration>(
      idle / 4, std::chrono::milliseconds(1), std::chrono::seconds(1));
  if (!idle_worker_.run_every(period, [this] { budget_.evict_idle(table_); })) {
    detail::throw_error<LazyError>(
        "lazyload: cannot add " + detail::quoted(entry.handle->name()) +
        " with an idle_timeout: the registry is being destroyed");
  }
}

inline LazyRegistry::Entry& LazyRegistry::find(std::string_view name) const {
  if (Entry* e = table_.find(name); LAZYLOAD_PREDICT_TRUE(e != nullptr)) {
    return *e;
  }
  detail::throw_error<LazyError>("lazyload: resource " +
                                 detail::quoted(std::string(name)) +
                                 " is not registered");
}

template <class T> LazyHandle<T>& LazyRegistry::handle(std::string_view name) {
  Entry& entry = find(name);
  if (LAZYLOAD_PREDICT_FALSE(!entry.handle->template holds<T>())) {
    detail::throw_error<LazyError>(
        "lazyload: resource " + detail::quoted(std::string(name)) + " holds " +
        entry.handle->type_name() + ", not " + detail::type_name<T>());
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

inline void LazyRegistry::reload(std::string_view name) {
  find(name).handle->reload();
}

inline bool LazyRegistry::cancel(std::string_view name) {
  return find(name).handle->cancel();
}

inline bool LazyRegistry::contains(std::string_view name) const {
  return table_.find(name) != nullptr;
}

inline std::size_t LazyRegistry::size() const { return table_.size(); }

inline std::vector<std::string> LazyRegistry::names() const {
  std::vector<std::string> out;
  table_.for_each([&](const Entry& e) { out.push_back(e.handle->name()); });
  return out;
}

inline std::vector<LazyRegistry::Entry*> LazyRegistry::load_order() const {
  return table_.read([this](const auto& entries) {
    return detail::load_order(table_, entries);
  });
}

inline LoadFuture LazyRegistry::load_async(std::string_view name) {
  LazyHandleBase& handle = *find(name).handle;
  std::promise<void> promise;
  std::future<void> future = promise.get_future();
  if (handle.is_loaded()) {
    promise.set_value();
    return LoadFuture(std::move(future));
  }
  if (std::exception_ptr failure =
          detail::HandleAccess::cooling_failure(handle)) {
    promise.set_exception(failure);
    return LoadFuture(std::move(future));
  }
  detail::HandleAccess::mark_queued(handle);
  const std::uint64_t request = scheduler_->submit(handle, std::move(promise));
  return {std::move(future), handle, scheduler_, request};
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
    if (detail::HandleAccess::mark_queued(*e->handle)) {
      scheduler_->submit(*e->handle);
    }
  }
}

inline bool LazyRegistry::is_idle() const {
  bool idle = true;
  table_.for_each([&](const Entry& e) {
    const Status s = e.handle->status();
    if (s == Status::queued || s == Status::loading) idle = false;
  });
  return idle;
}

template <class Rep, class Period>
bool LazyRegistry::wait_idle(
    const std::chrono::duration<Rep, Period>& timeout) const {
  // No deadline: a timeout past the clock's range waits for ever.
  const auto deadline = detail::deadline_after(timeout);
  std::unique_lock<std::mutex> lock(idle_mutex_);
  for (;;) {
    if (is_idle()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (deadline && now >= *deadline) return false;
    // Woken on every status change; the slice is a safety net only.
    const auto slice = now + std::chrono::milliseconds(50);
    idle_cv_.wait_until(lock, deadline ? std::min(*deadline, slice) : slice);
  }
}

inline RegistrySnapshot LazyRegistry::snapshot() const {
  RegistrySnapshot out;
  out.memory_budget = budget_.budget();
  out.budget_overshoots = budget_.overshoots();
  out.rss_bytes = process_rss_bytes();
  out.pressure = budget_.level();
  out.entries.reserve(table_.size());
  table_.for_each([&](const Entry& e) {
    out.entries.push_back(snapshot_of(e));
    count(out, out.entries.back());
  });
  out.total = out.entries.size();
  out.is_loading = out.queued + out.loading > 0;
  out.progress = out.total == 0 ? 0.0
                                : static_cast<double>(out.loaded) /
                                      static_cast<double>(out.total);
  LAZYLOAD_SUPPRESS_DEPRECATED_BEGIN
  out.progress_percentage = 100.0 * out.progress;
  LAZYLOAD_SUPPRESS_DEPRECATED_END
  return out;
}

inline EntrySnapshot LazyRegistry::snapshot(std::string_view name) const {
  return snapshot_of(find(name));
}

inline EntrySnapshot LazyRegistry::snapshot_of(const Entry& e) {
  HandleStats stats = e.handle->stats();
  EntrySnapshot s;
  s.name = std::move(stats.name);
  s.type = e.handle->type_name();
  s.status = stats.status;
  s.priority = e.options.priority;
  s.load_time = stats.load_time;
  s.error = std::move(stats.error);
  s.loads = stats.loads;
  s.failures = stats.failures;
  s.evictions = e.evictions.load(std::memory_order_relaxed);
  s.uses = stats.uses;
  s.progress = stats.progress;
  s.stage = std::move(stats.stage);
  s.depends_on = e.options.depends_on;
  s.size_bytes =
      stats.size_bytes != 0 ? stats.size_bytes : e.options.size_bytes;
  s.evictable = e.options.evictable;
  s.required = e.options.required;
  s.last_loaded_at = stats.last_loaded_at;
  s.first_load = e.first_load.load(std::memory_order_relaxed);
  s.reloading = stats.reloading;
  s.reload_progress = stats.reload_progress;
  s.retries = e.retries.load(std::memory_order_relaxed);
  if (const std::int64_t due = e.next_retry_at.load(); due != 0) {
    const auto in = std::chrono::steady_clock::duration(due) -
                    std::chrono::steady_clock::now().time_since_epoch();
    s.next_retry_at =
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(in);
  }
  return s;
}

// Adds `entry` to the totals of `out`.
inline void LazyRegistry::count(RegistrySnapshot& out,
                                const EntrySnapshot& entry) {
  switch (entry.status) {
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
    out.bytes_loaded += entry.size_bytes;
    break;
  case Status::failed:
    ++out.failed;
    break;
  }
  if (entry.required && entry.status != Status::loaded) {
    out.not_ready.push_back(entry.name);
  }
}

inline std::vector<LoadRecord> LazyRegistry::timeline() const {
  std::lock_guard<std::mutex> lock(timeline_mutex_);
  return {timeline_.begin(), timeline_.end()};
}

// Loads the declared dependencies of `entry`, on this thread, leaves first:
// every dependency not loaded yet, each after its own, so that the load of
// each finds its dependencies loaded and loads nothing itself. The depth of
// the loads stays constant, however long the chain.
inline void LazyRegistry::load_dependencies(const Entry& entry) {
  bool all_loaded = true;
  for (const std::string& dep : entry.options.depends_on) {
    const Entry* target = table_.find(dep);
    if (target == nullptr) {
      detail::throw_error<LoadError>(
          "lazyload: dependency " + detail::quoted(dep) + " is not registered");
    }
    all_loaded = all_loaded && target->handle->is_loaded();
  }
  if (all_loaded) return;
  const std::vector<LazyHandleBase*> order = table_.read([&](const auto& all) {
    return detail::unloaded_dependencies(table_, entry, all.size());
  });
  for (LazyHandleBase* dep : order) dep->load();
}

inline void LazyRegistry::record(Entry& entry,
                                 const LoadRecord& record) noexcept {
  if (record.ok && entry.first_load.load(std::memory_order_relaxed) == 0) {
    entry.first_load.store(first_loads_.fetch_add(1) + 1,
                           std::memory_order_relaxed);
  }
  try {
    std::lock_guard<std::mutex> lock(timeline_mutex_);
    if (options_.timeline_capacity == 0) return;
    if (timeline_.size() >= options_.timeline_capacity) timeline_.pop_front();
    timeline_.push_back(record);
  } catch (...) {
    // Out of memory for a record: the timeline misses one load.
  }
}

inline void LazyRegistry::Events::before_load(Entry& entry) {
  if (registry_.closing_.load()) {
    detail::throw_error<LoadCancelled>(
        "lazyload: the registry is being destroyed");
  }
  registry_.load_dependencies(entry);
  // A declared size lets the registry make room before the loader runs.
  registry_.budget_.before_load(registry_.table_, entry);
}

inline void LazyRegistry::Events::after_load(Entry& entry) noexcept {
  registry_.budget_.after_load(registry_.table_, entry);
}

inline void LazyRegistry::Events::changed(Entry& entry,
                                          const StatusChange& change) noexcept {
  if (change.from == Status::loaded && change.to == Status::unloaded) {
    registry_.budget_.after_unload(registry_.table_);  // unload or eviction
  }
  StatusChange reported = change;
  reported.retry = detail::note_retry(entry, change);
  if (registry_.options_.on_change) {
    try {
      registry_.options_.on_change(reported);
    } catch (...) {
      // A monitoring callback must not break loading.
    }
  }
  if (!registry_.closing_.load()) {
    if (change.to == Status::failed) registry_.schedule_retry(entry);
    if (change.from == Status::loaded && change.to == Status::unloaded &&
        entry.options.keep_loaded) {
      registry_.queue_background(entry);
    }
  }
  { std::lock_guard<std::mutex> lock(registry_.idle_mutex_); }
  registry_.idle_cv_.notify_all();
}

// Schedules the next retry of a failed entry, if its policy allows one and
// none is pending.
inline void LazyRegistry::schedule_retry(Entry& entry) noexcept {
  const auto delay = detail::next_retry_delay(entry);
  if (!delay) return;
  // Not within the failure cool-down: the handle would refuse to queue it.
  const auto due = std::chrono::steady_clock::now() +
                   std::max(*delay, entry.options.failure_cooldown);
  const std::int64_t token = due.time_since_epoch().count();
  const unsigned attempt = entry.retries.fetch_add(1) + 1;
  entry.next_retry_at.store(token);
  try {
    if (retry_timer_.at(due, [this, &entry, token, attempt] {
          retry_now(entry, token, attempt);
        })) {
      return;
    }
  } catch (...) {
    // No thread for the timer: this entry is not retried.
  }
  entry.next_retry_at.store(0);
}

// On the timer's thread: queues the retry unless the entry no longer needs
// it (it loaded, or was unloaded, meanwhile).
inline void LazyRegistry::retry_now(Entry& entry, std::int64_t token,
                                    unsigned attempt) noexcept {
  // Only the retry still pending runs: a success since cleared the token.
  if (!entry.next_retry_at.compare_exchange_strong(token, 0)) return;
  if (closing_.load() || entry.handle->status() != Status::failed) return;
  entry.retry_attempt.store(attempt);
  if (queue_background(entry)) return;
  // Not queued (someone else's load got there first, or a newer failure's
  // cool-down runs): this attempt reports nothing; the next is scheduled.
  entry.retry_attempt.store(0);
  if (entry.handle->status() == Status::failed) schedule_retry(entry);
}

// Queues a background load of `entry` if it is unloaded or failed; returns
// whether it did.
inline bool LazyRegistry::queue_background(Entry& entry) noexcept {
  try {
    if (detail::HandleAccess::mark_queued(*entry.handle)) {
      scheduler_->submit(*entry.handle);
      return true;
    }
  } catch (...) {
    // Out of memory or threads: the entry stays as it is.
  }
  return false;
}

inline void LazyRegistry::Events::recorded(Entry& entry,
                                           const LoadRecord& record) noexcept {
  registry_.record(entry, record);
}

}  // namespace lazyload

#endif  // LAZYLOAD_REGISTRY_HPP_
