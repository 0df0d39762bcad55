// lazyload/detail/wait_word.hpp
//
// Internal: a 32-bit word that threads sleep on until it changes, and one
// call that wakes them all. On Linux the sleep is a futex, as in glibc's
// pthread_once (under std::call_once) and absl::call_once: the waiters of a
// load are woken by one system call and return without taking any lock.
// Elsewhere a small table of mutex and condition-variable buckets does the
// same job (its waiters do take a bucket's mutex on waking). Not part of the
// public interface.

#ifndef LAZYLOAD_DETAIL_WAIT_WORD_HPP_
#define LAZYLOAD_DETAIL_WAIT_WORD_HPP_

#include <atomic>              // std::atomic
#include <chrono>              // std::chrono::steady_clock
#include <condition_variable>  // std::condition_variable
#include <cstdint>             // std::uint32_t
#include <functional>          // std::hash
#include <mutex>               // std::mutex
#include <optional>            // std::optional

#if defined(__linux__)
#  include <linux/futex.h>  // FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE
#  include <sys/syscall.h>  // SYS_futex
#  include <unistd.h>       // syscall

#  include <climits>  // INT_MAX
#  include <ctime>    // timespec
#endif

namespace lazyload {
namespace detail {

using WaitDeadline = std::optional<std::chrono::steady_clock::time_point>;

// The portable way: a fixed set of buckets that words hash to. A waker
// takes the bucket's mutex, so a waiter between its check and its sleep is
// not missed. Used where there is no futex; compiled everywhere, so that
// its tests run everywhere.
struct WaitBucket {
  std::mutex mutex;
  std::condition_variable cv;
};

inline WaitBucket& bucket_of(const void* word) noexcept {
  static WaitBucket buckets[64];
  return buckets[(std::hash<const void*>{}(word) >> 4) % 64];
}

// Sleeps while `word` holds `old`, until `deadline` if there is one; may
// return early (a spurious wake-up): callers check again.
inline void bucket_sleep_on(const std::atomic<std::uint32_t>& word,
                            std::uint32_t old,
                            const WaitDeadline& deadline) noexcept {
  WaitBucket& bucket = bucket_of(&word);
  std::unique_lock<std::mutex> lock(bucket.mutex);
  if (word.load(std::memory_order_acquire) != old) return;
  if (deadline) {
    bucket.cv.wait_until(lock, *deadline);
  } else {
    bucket.cv.wait(lock);
  }
}

// Wakes every thread sleeping on `word` in bucket_sleep_on().
inline void bucket_wake_all(const std::atomic<std::uint32_t>& word) noexcept {
  WaitBucket& bucket = bucket_of(&word);
  { std::lock_guard<std::mutex> lock(bucket.mutex); }
  bucket.cv.notify_all();
}

#if defined(__linux__)

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t),
              "a futex needs the atomic to be the plain 32-bit word");

// Sleeps while `word` holds `old`, until `deadline` if there is one; may
// return early (a signal, a spurious wake-up): callers check again.
inline void sleep_on(const std::atomic<std::uint32_t>& word, std::uint32_t old,
                     const WaitDeadline& deadline) noexcept {
  timespec timeout{};
  timespec* timeout_ptr = nullptr;
  if (deadline) {
    const auto left = *deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return;
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(left);
    timeout.tv_sec = static_cast<std::time_t>(secs.count());
    timeout.tv_nsec = static_cast<long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(left - secs)
            .count());
    timeout_ptr = &timeout;
  }
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg,cppcoreguidelines-pro-type-reinterpret-cast): futex
  syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word),
          FUTEX_WAIT_PRIVATE, old, timeout_ptr, nullptr, 0);
}

// Wakes every thread sleeping on `word`.
inline void wake_all(const std::atomic<std::uint32_t>& word) noexcept {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg,cppcoreguidelines-pro-type-reinterpret-cast): futex
  syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word),
          FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

#else

inline void sleep_on(const std::atomic<std::uint32_t>& word, std::uint32_t old,
                     const WaitDeadline& deadline) noexcept {
  bucket_sleep_on(word, old, deadline);
}

inline void wake_all(const std::atomic<std::uint32_t>& word) noexcept {
  bucket_wake_all(word);
}

#endif

// WaitWord
//
// A counter that changes whenever something waited for happens. A waiter
// reads it (under whatever lock guards its condition), releases the lock and
// sleeps until it differs; whoever changes the condition bumps it, and wakes
// the sleepers with one call, and only when there are any. This class is
// thread-safe.
class WaitWord {
 public:
  // The current value; read it before releasing the lock guarding the
  // condition, then wait(value).
  std::uint32_t load() const noexcept {
    return word_.load(std::memory_order_seq_cst);
  }

  // Changes the value and wakes every thread in wait().
  void bump() noexcept {
    advance();
    wake();
  }

  // bump() in two steps: change the value (under the lock guarding the
  // condition), then wake the threads in wait() (after releasing it, so
  // that the woken do not run while the waker still holds the lock).
  void advance() noexcept { word_.fetch_add(1, std::memory_order_seq_cst); }
  void wake() noexcept {
    // Either this load sees a waiter, or that waiter sees the new value.
    if (waiters_.load(std::memory_order_seq_cst) != 0) wake_all(word_);
  }

  // Sleeps while the value is `seen`, until `deadline` if there is one.
  // Returns whether the value changed.
  bool wait(std::uint32_t seen, const WaitDeadline& deadline = {}) noexcept {
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    while (word_.load(std::memory_order_seq_cst) == seen) {
      if (deadline && std::chrono::steady_clock::now() >= *deadline) break;
      sleep_on(word_, seen, deadline);
    }
    waiters_.fetch_sub(1, std::memory_order_release);
    return word_.load(std::memory_order_acquire) != seen;
  }

 private:
  std::atomic<std::uint32_t> word_{0};
  std::atomic<std::uint32_t> waiters_{0};
};

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_WAIT_WORD_HPP_
