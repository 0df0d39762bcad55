// lazyload/detail/retry.hpp
//
// Internal: the arithmetic of a registry's retry policy (which policy an
// entry has, how long until its next retry) and the bookkeeping of a retry
// in flight. Not part of the public interface.

#ifndef LAZYLOAD_DETAIL_RETRY_HPP_
#define LAZYLOAD_DETAIL_RETRY_HPP_

#include <algorithm>  // std::min
#include <chrono>     // std::chrono::steady_clock
#include <cstdint>    // std::uint64_t
#include <optional>   // std::optional

#include "../events.hpp"
#include "../registry_options.hpp"
#include "../status.hpp"
#include "registry_entry.hpp"

namespace lazyload {
namespace detail {

// The policy of `options`: its own, else for ever for a required entry (so
// that readiness heals), else none.
inline RetryPolicy retry_policy_of(const EntryOptions& options) {
  if (options.retry) return *options.retry;
  RetryPolicy policy;
  if (options.required) policy.attempts = kRetryForever;
  return policy;
}

// A number in [0, 1) from a per-thread splitmix64 sequence: jitter needs no
// more, and std::random_device may throw.
inline double unit_random() noexcept {
  thread_local std::uint64_t state = static_cast<std::uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
  z ^= z >> 31U;
  return static_cast<double>(z >> 11U) * 0x1.0p-53;
}

// The delay before retry number `done + 1` of a series under `policy`.
inline std::chrono::steady_clock::duration retry_delay(
    const RetryPolicy& policy, unsigned done) {
  using Seconds = std::chrono::duration<double>;
  const double cap = Seconds(policy.max_delay).count();
  double delay = Seconds(policy.first_delay).count();
  for (unsigned i = 0; i < done && delay < cap; ++i) delay *= policy.backoff;
  delay = std::min(delay, cap);
  delay *= 1.0 + policy.jitter * (2.0 * unit_random() - 1.0);
  constexpr double kLongest = 1e9;  // seconds: about 31 years
  if (!(delay > 0.0)) delay = 0.0;  // also NaN from a nonsense policy
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      Seconds(std::min(delay, kLongest)));
}

// The delay before the next retry of a failed `entry`, or nullopt when its
// policy allows no more or one is already pending.
inline std::optional<std::chrono::steady_clock::duration> next_retry_delay(
    const RegistryEntry& entry) {
  const RetryPolicy policy = retry_policy_of(entry.options);
  const unsigned done = entry.retries.load();
  if (done >= policy.attempts || entry.next_retry_at.load() != 0) {
    return std::nullopt;
  }
  return retry_delay(policy, done);
}

// Keeps a retry's bookkeeping in step with its entry's changes; returns the
// attempt to report with `change` (0: not a retry).
inline unsigned note_retry(RegistryEntry& entry,
                           const StatusChange& change) noexcept {
  const unsigned attempt = entry.retry_attempt.load();
  if (change.to == Status::loaded) {
    entry.retries.store(0);
    entry.next_retry_at.store(0);  // a pending retry finds nothing to do
  }
  if (change.to == Status::loaded || change.to == Status::failed ||
      change.to == Status::unloaded) {
    entry.retry_attempt.store(0);
  }
  return change.reload ? 0 : attempt;
}

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_RETRY_HPP_
