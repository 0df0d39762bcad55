// lazyload/detail/registry_entry.hpp
//
// Internal: one entry of a LazyRegistry (its handle, its options and what the
// registry counts about it), `NameIndex`, the lock-free index by name, and
// `EntryTable`, the entries in registration order with that index. Not part
// of the public interface.

#ifndef LAZYLOAD_DETAIL_REGISTRY_ENTRY_HPP_
#define LAZYLOAD_DETAIL_REGISTRY_ENTRY_HPP_

#include <atomic>        // std::atomic
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint64_t
#include <functional>    // std::hash
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

// NameIndex
//
// The entries by name: an open-addressing hash table (linear probing, a
// power-of-two capacity, at most half full) of atomic entry pointers, each
// slot also keeping its name's hash. Readers take no lock and write nothing:
// they acquire the current table and probe it with acquire loads. Writers
// must be serialized by the caller (EntryTable's exclusive lock). An entry is
// published by a release store into its slot; a full enough table is rehashed
// into one twice its size, published by a release store of `current_`. The
// old tables stay alive until the index dies, since a reader may still be
// probing one (the sizes are geometric: together less than the last).
class NameIndex {
 public:
  static constexpr std::size_t kInitialCapacity = 16;

  NameIndex() { grow(kInitialCapacity); }

  // The hash of `name`, as stored in the slots.
  static std::uint64_t hash(std::string_view name) noexcept {
    return static_cast<std::uint64_t>(std::hash<std::string_view>{}(name));
  }

  // The slot where probing for `name` starts in a table of `capacity` (a
  // power of two) slots: the top bits of the hash times 2^64 / phi, so that
  // every bit of the hash counts.
  static std::size_t home_slot(std::string_view name,
                               std::size_t capacity) noexcept {
    return home(hash(name), shift_for(capacity));
  }

  // Returns the entry named `name`, or null. Takes no lock.
  // Requires: `entry->handle->name()` of every indexed entry never changes.
  RegistryEntry* find(std::string_view name) const noexcept {
    const std::uint64_t h = hash(name);
    const Table* t = current_.load(std::memory_order_acquire);
    for (std::size_t i = home(h, t->shift);; i = (i + 1) & t->mask) {
      const Slot& slot = t->slots[i];
      RegistryEntry* e = slot.entry.load(std::memory_order_acquire);
      // The table is never full, so an empty slot ends every probe.
      if (e == nullptr) return nullptr;
      // `slot.hash` was written before `slot.entry` was published.
      if (slot.hash == h && e->handle->name() == name) return e;
    }
  }

  // Makes room for one more entry, rehashing into a new table if needed, so
  // that the next insert() allocates nothing. Requires: writers serialized.
  // Throws: std::bad_alloc (the index is then unchanged).
  void reserve_one() {
    const Table& t = *current_.load(std::memory_order_relaxed);
    if ((count_ + 1) * 2 > t.mask + 1) grow((t.mask + 1) * 2);
  }

  // Indexes `entry` under its handle's name, which is not indexed yet.
  // Requires: writers serialized; reserve_one() since the last insert().
  void insert(RegistryEntry* entry) noexcept {
    Table& t = *current_.load(std::memory_order_relaxed);
    place(t, hash(entry->handle->name()), entry, std::memory_order_release);
    ++count_;
  }

 private:
  struct Slot {
    std::atomic<RegistryEntry*> entry{nullptr};
    std::uint64_t hash = 0;  // written before `entry` is published
  };
  struct Table {
    explicit Table(std::size_t capacity)
        : mask(capacity - 1),
          shift(shift_for(capacity)),
          slots(new Slot[capacity]) {}
    const std::size_t mask;
    const unsigned shift;
    const std::unique_ptr<Slot[]> slots;
  };

  static unsigned shift_for(std::size_t capacity) noexcept {
    unsigned bits = 0;
    while ((std::size_t{1} << bits) < capacity) ++bits;
    return 64 - bits;
  }

  static std::size_t home(std::uint64_t hash, unsigned shift) noexcept {
    return static_cast<std::size_t>((hash * 0x9E3779B97F4A7C15ULL) >> shift);
  }

  static void place(Table& t, std::uint64_t h, RegistryEntry* entry,
                    std::memory_order order) noexcept {
    std::size_t i = home(h, t.shift);
    while (t.slots[i].entry.load(std::memory_order_relaxed) != nullptr) {
      i = (i + 1) & t.mask;
    }
    t.slots[i].hash = h;
    t.slots[i].entry.store(entry, order);
  }

  void grow(std::size_t capacity) {
    tables_.reserve(tables_.size() + 1);
    auto bigger = std::make_unique<Table>(capacity);
    if (!tables_.empty()) {
      const Table& old = *tables_.back();
      for (std::size_t i = 0; i <= old.mask; ++i) {
        RegistryEntry* e = old.slots[i].entry.load(std::memory_order_relaxed);
        // Published below, with the table.
        if (e != nullptr) {
          place(*bigger, old.slots[i].hash, e, std::memory_order_relaxed);
        }
      }
    }
    current_.store(bigger.get(), std::memory_order_release);
    tables_.push_back(std::move(bigger));  // reserved: does not throw
  }

  std::atomic<Table*> current_{nullptr};
  std::vector<std::unique_ptr<Table>> tables_;  // oldest first; writers only
  std::size_t count_ = 0;                       // writers only
};

// EntryTable
//
// The entries in registration order and their index by name. Entries are
// never removed, so a pointer to one lives as long as the table. This class
// is thread-safe: lookups by name take no lock, iteration takes the shared
// lock, additions the exclusive one.
class EntryTable {
 public:
  // Adds `entry` under its handle's name, after `check(view)` (which may
  // throw, adding nothing) ran under the exclusive lock. Throws LazyError
  // naming a duplicate; std::bad_alloc.
  template <class Check>
  RegistryEntry& add(std::unique_ptr<RegistryEntry> entry, Check&& check) {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    const std::string& name = entry->handle->name();
    if (by_name_.find(name) != nullptr) {
      throw_error<LazyError>("lazyload: resource " + quoted(name) +
                             " is already registered");
    }
    check(*this);
    by_name_.reserve_one();
    entry->order = entries_.size();
    RegistryEntry& ref = *entry;
    entries_.push_back(std::move(entry));
    by_name_.insert(&ref);
    return ref;
  }

  // Returns the entry named `name`, or null. Takes no lock and allocates
  // nothing: safe to call concurrently with add(), and from inside its check.
  RegistryEntry* find(std::string_view name) const noexcept {
    return by_name_.find(name);
  }

  // The same as find(); for callers that hold `mutex_` (inside add()'s check
  // or read()), to which it makes no difference.
  RegistryEntry* find_locked(std::string_view name) const noexcept {
    return by_name_.find(name);
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
  // Guards `entries_` and serializes the writers of `by_name_`.
  mutable std::shared_mutex mutex_;
  std::vector<std::unique_ptr<RegistryEntry>> entries_;  // guarded by mutex_
  // The names live in the handles, which never move.
  NameIndex by_name_;  // read without a lock, written under mutex_
};

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_REGISTRY_ENTRY_HPP_
