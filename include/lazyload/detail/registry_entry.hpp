// lazyload/detail/registry_entry.hpp
//
// Internal: one entry of a LazyRegistry (its handle, its options and what the
// registry counts about it), and `EntryTable`, the entries in registration
// order with their index by name. Not part of the public interface.

#ifndef LAZYLOAD_DETAIL_REGISTRY_ENTRY_HPP_
#define LAZYLOAD_DETAIL_REGISTRY_ENTRY_HPP_

#include <atomic>        // std::atomic
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint64_t
#include <functional>    // std::less
#include <map>           // std::map
#include <memory>        // std::unique_ptr
#include <mutex>         // std::unique_lock
#include <shared_mutex>  // std::shared_mutex, std::shared_lock
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <utility>       // std::move
#include <vector>        // std::vector

#include "../events.hpp"
#include "../handle.hpp"
#include "../registry_options.hpp"
#include "throw.hpp"

namespace lazyload {
namespace detail {

// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final, below
class RegistryEntry;

// EntryEvents
//
// What a registry does when one of its entries loads or changes; each entry
// forwards its handle's observer calls here, naming itself.
class EntryEvents {
 public:
  virtual void before_load(RegistryEntry& entry) = 0;
  virtual void after_load(RegistryEntry& entry) noexcept = 0;
  virtual void changed(RegistryEntry& entry,
                       const StatusChange& change) noexcept = 0;
  virtual void recorded(RegistryEntry& entry,
                        const LoadRecord& record) noexcept = 0;

 protected:
  EntryEvents() = default;
  EntryEvents(const EntryEvents&) = default;
  EntryEvents& operator=(const EntryEvents&) = default;
  EntryEvents(EntryEvents&&) noexcept = default;
  EntryEvents& operator=(EntryEvents&&) noexcept = default;
  ~EntryEvents() = default;
};

// RegistryEntry
//
// One registered resource. The handle and options never change after
// construction; the counters are atomics. This class is thread-safe.
// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final (C.35)
class RegistryEntry final : public HandleObserver {
 public:
  RegistryEntry(EntryEvents& events, std::unique_ptr<LazyHandleBase> h,
                EntryOptions opts)
      : handle(std::move(h)), options(std::move(opts)), events_(events) {
    HandleAccess::observe(*handle, this);
  }

  void before_load() override { events_.before_load(*this); }
  void after_load() noexcept override { events_.after_load(*this); }
  void changed(const StatusChange& change) noexcept override {
    events_.changed(*this, change);
  }
  void recorded(const LoadRecord& record) noexcept override {
    events_.recorded(*this, record);
  }

  // The value's size: reported by the loader, else declared; 0: unknown.
  std::size_t size() const noexcept {
    const std::size_t reported = HandleAccess::reported_size(*handle);
    return reported != 0 ? reported : options.size_bytes;
  }

  const std::unique_ptr<LazyHandleBase> handle;
  const EntryOptions options;
  std::size_t order = 0;  // registration index, set once by EntryTable::add
  std::atomic<std::uint64_t> evictions{0};
  // When this entry first loaded, as a registry-wide rank (0: not yet).
  std::atomic<std::uint64_t> first_load{0};
  // The retry policy's state: retries scheduled since the last success, the
  // attempt a running retry is (0: none), and when the next one is due
  // (steady_clock ticks; 0: none scheduled).
  std::atomic<unsigned> retries{0};
  std::atomic<unsigned> retry_attempt{0};
  std::atomic<std::int64_t> next_retry_at{0};

 private:
  EntryEvents& events_;
};

// EntryTable
//
// The entries in registration order and their index by name. Entries are
// never removed, so a pointer to one lives as long as the table. This class
// is thread-safe: lookups take a shared lock, additions the exclusive one.
class EntryTable {
 public:
  // Adds `entry` under its handle's name, after `check(view)` (which may
  // throw, adding nothing) ran under the exclusive lock. Throws LazyError
  // naming a duplicate.
  template <class Check>
  RegistryEntry& add(std::unique_ptr<RegistryEntry> entry, Check&& check) {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    const std::string& name = entry->handle->name();
    if (by_name_.find(name) != by_name_.end()) {
      throw_error<LazyError>("lazyload: resource " + quoted(name) +
                             " is already registered");
    }
    check(*this);
    entry->order = entries_.size();
    RegistryEntry& ref = *entry;
    entries_.push_back(std::move(entry));
    by_name_.emplace(name, &ref);
    return ref;
  }

  // Returns the entry named `name`, or null.
  RegistryEntry* find(std::string_view name) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return find_locked(name);
  }

  // Requires: `mutex_` held (inside add()'s check or read()).
  RegistryEntry* find_locked(std::string_view name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }

  // Calls `f(entry)` for every entry in registration order, under the shared
  // lock: `f` must not add entries.
  template <class F> void for_each(F&& f) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    for (const auto& e : entries_) f(*e);
  }

  // Calls `f(entries)` with every entry in registration order, under the
  // shared lock, so that `f` may also call find_locked().
  template <class F> auto read(F&& f) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return f(entries_);
  }

  std::size_t size() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return entries_.size();
  }

 private:
  mutable std::shared_mutex mutex_;
  std::vector<std::unique_ptr<RegistryEntry>> entries_;  // guarded by mutex_
  // The names live in the handles, which never move.
  std::map<std::string_view, RegistryEntry*, std::less<>>
      by_name_;  // guarded by mutex_
};

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_REGISTRY_ENTRY_HPP_
