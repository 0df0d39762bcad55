// lazyload/detail/memory_budget.hpp
//
// Internal: a registry's memory budget. Before a load of a declared size it
// makes room; after a load it evicts down to the budget (the size may be
// known only then) and checks the pressure thresholds; after every unload
// and eviction it recomputes the pressure level (a level left downward is
// crossed upward again, and reported again, by a later load); periodically
// it evicts entries idle past their timeout. Eviction unloads evictable,
// loaded entries that nobody leases, least recently leased first, and never
// the entry just loaded. Not part of the public interface.

#ifndef LAZYLOAD_DETAIL_MEMORY_BUDGET_HPP_
#define LAZYLOAD_DETAIL_MEMORY_BUDGET_HPP_

#include <algorithm>   // std::sort, std::min
#include <atomic>      // std::atomic
#include <chrono>      // std::chrono::steady_clock
#include <cstddef>     // std::size_t
#include <cstdint>     // std::uint64_t
#include <functional>  // std::function
#include <mutex>       // std::mutex, std::lock_guard
#include <optional>    // std::optional
#include <string>      // std::to_string
#include <utility>     // std::pair
#include <vector>      // std::vector

#include "../error.hpp"
#include "../memory_pressure.hpp"
#include "registry_entry.hpp"
#include "throw.hpp"

namespace lazyload {
namespace detail {

// MemoryBudget
//
// This class is thread-safe. Locks: `pass_mutex_` serializes eviction
// passes; `level_mutex_` guards the pressure level, and is taken before the
// entry table's lock, never after. No callback runs with either held.
class MemoryBudget {
 public:
  // Throws LazyError if thresholds are set without a budget, or are not
  // 0 < warning <= critical <= 1.
  MemoryBudget(std::size_t budget, std::optional<PressureThresholds> thresholds,
               std::function<void(const PressureEvent&)> on_pressure)
      : budget_(budget),
        thresholds_(thresholds),
        on_pressure_(std::move(on_pressure)) {
    if (thresholds_ && budget_ == 0) {
      throw_error<LazyError>("lazyload: pressure levels need a memory_budget");
    }
    if (thresholds_) validate(*thresholds_);
  }

  std::size_t budget() const noexcept { return budget_; }
  std::uint64_t overshoots() const noexcept {
    return overshoots_.load(std::memory_order_relaxed);
  }
  PressureLevel level() const {
    std::lock_guard<std::mutex> lock(level_mutex_);
    return level_;
  }

  // Before `entry` loads: makes room for its declared size.
  void before_load(const EntryTable& table, const RegistryEntry& entry) {
    const std::size_t incoming = entry.options.size_bytes;
    if (budget_ == 0 || incoming == 0) return;
    evict_until(table, &entry, incoming >= budget_ ? 0 : budget_ - incoming);
  }

  // After `entry` loaded: back under the budget, then the thresholds.
  void after_load(const EntryTable& table,
                  const RegistryEntry& entry) noexcept {
    if (budget_ == 0) return;
    if (evict_until(table, &entry, budget_) > budget_) {
      overshoots_.fetch_add(1, std::memory_order_relaxed);
    }
    check_pressure(table, &entry);
  }

  // After an entry was unloaded or evicted: the level may have gone down. It
  // is recomputed, without an event (events are for upward crossings).
  void after_unload(const EntryTable& table) noexcept {
    if (!thresholds_) return;
    std::lock_guard<std::mutex> lock(level_mutex_);
    level_ = level_of(loaded_bytes(table));
  }

  // Evicts the entries nobody has leased for their idle timeout.
  void evict_idle(const EntryTable& table) noexcept {
    // A value leased again and again keeps its last-use stamp (and time)
    // while it stays the most recently used; advancing the use sequence makes
    // its next lease stamp the time again, so no value in use looks idle.
    use_sequence().fetch_add(1, std::memory_order_relaxed);
    std::vector<RegistryEntry*> evicted;
    try {
      const auto now =
          std::chrono::steady_clock::now().time_since_epoch().count();
      std::vector<RegistryEntry*> idle;
      table.for_each([&](RegistryEntry& e) {
        const auto timeout = e.options.idle_timeout.count();
        if (timeout <= 0 || !e.handle->is_loaded()) return;
        if (now - HandleAccess::last_used_at(*e.handle) >= timeout) {
          idle.push_back(&e);
        }
      });
      for (RegistryEntry* e : idle) evict(*e, evicted);
    } catch (...) {
      // Out of memory: try again on the next tick.
    }
    report(evicted);
    if (!evicted.empty()) check_pressure(table, nullptr);
  }

 private:
  static void validate(const PressureThresholds& p) {
    if (!(p.warning > 0.0 && p.warning <= p.critical && p.critical <= 1.0)) {
      throw_error<LazyError>(
          "lazyload: pressure levels must satisfy 0 < warning <= critical <= "
          "1, got warning " +
          std::to_string(p.warning) + " and critical " +
          std::to_string(p.critical));
    }
  }

  // The one eviction step: unloads `e` if nobody uses it, counting it.
  static bool evict(RegistryEntry& e, std::vector<RegistryEntry*>& evicted) {
    if (!HandleAccess::evict_if_unused(*e.handle)) return false;
    e.evictions.fetch_add(1, std::memory_order_relaxed);
    evicted.push_back(&e);
    return true;
  }

  // Reports evictions, once no lock is held.
  static void report(const std::vector<RegistryEntry*>& evicted) noexcept {
    for (RegistryEntry* e : evicted) HandleAccess::report_eviction(*e->handle);
  }

  // Evicts, least recently used first, until the loaded total is at most
  // `target`; `keep` is never evicted. Returns the loaded total it leaves.
  std::size_t evict_until(const EntryTable& table, const RegistryEntry* keep,
                          std::size_t target) noexcept {
    std::vector<RegistryEntry*> evicted;
    std::size_t loaded = 0;
    try {
      std::lock_guard<std::mutex> pass(pass_mutex_);
      // (last use, entry): the use is read once, because leases keep
      // changing it and std::sort needs keys that hold still.
      std::vector<std::pair<std::uint64_t, RegistryEntry*>> candidates;
      table.for_each([&](RegistryEntry& e) {
        if (!e.handle->is_loaded()) return;
        loaded += e.size();
        if (&e == keep || !e.options.evictable) return;
        candidates.emplace_back(HandleAccess::last_used_seq(*e.handle), &e);
      });
      std::sort(candidates.begin(), candidates.end());
      for (const auto& candidate : candidates) {
        if (loaded <= target) break;
        const std::size_t size = candidate.second->size();
        if (evict(*candidate.second, evicted)) loaded -= std::min(loaded, size);
      }
    } catch (...) {
      // Out of memory while making room: the budget is a target, not a rule.
    }
    report(evicted);
    return loaded;
  }

  static std::size_t loaded_bytes(const EntryTable& table) {
    std::size_t total = 0;
    table.for_each([&](const RegistryEntry& e) {
      if (e.handle->is_loaded()) total += e.size();
    });
    return total;
  }

  PressureLevel level_of(std::size_t bytes) const noexcept {
    if (!thresholds_) return PressureLevel::normal;
    const double used =
        static_cast<double>(bytes) / static_cast<double>(budget_);
    if (used >= thresholds_->critical) return PressureLevel::critical;
    if (used >= thresholds_->warning) return PressureLevel::warning;
    return PressureLevel::normal;
  }

  // Raises an event when a threshold was crossed upward since the last
  // check, and at critical evicts down to the warning level (never `keep`).
  void check_pressure(const EntryTable& table,
                      const RegistryEntry* keep) noexcept {
    if (!thresholds_) return;
    std::size_t bytes = 0;
    PressureLevel now = PressureLevel::normal;
    PressureLevel before = PressureLevel::normal;
    {
      // Read and set under one lock, so that a concurrent unload's
      // after_unload() cannot be overwritten by an older reading.
      std::lock_guard<std::mutex> lock(level_mutex_);
      bytes = loaded_bytes(table);
      now = level_of(bytes);
      before = level_;
      level_ = now;
    }
    if (now > before && on_pressure_) {
      try {
        on_pressure_(PressureEvent{now, bytes, budget_});
      } catch (...) {
        // A monitoring callback must not break loading.
      }
    }
    if (now != PressureLevel::critical) return;
    const auto warning = static_cast<std::size_t>(thresholds_->warning *
                                                  static_cast<double>(budget_));
    evict_until(table, keep, warning);  // each eviction: after_unload()
    after_unload(table);
  }

  const std::size_t budget_;
  const std::optional<PressureThresholds> thresholds_;
  const std::function<void(const PressureEvent&)> on_pressure_;
  std::atomic<std::uint64_t> overshoots_{0};
  std::mutex pass_mutex_;
  mutable std::mutex level_mutex_;
  PressureLevel level_ = PressureLevel::normal;  // guarded by level_mutex_
};

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_MEMORY_BUDGET_HPP_
