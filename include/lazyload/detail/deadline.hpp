// lazyload/detail/deadline.hpp
//
// Internal: a timeout turned into a steady_clock deadline without overflow,
// so that `duration::max()` means "for ever" rather than a deadline in the
// past. Not part of the public interface.

#ifndef LAZYLOAD_DETAIL_DEADLINE_HPP_
#define LAZYLOAD_DETAIL_DEADLINE_HPP_

#include <chrono>    // std::chrono::steady_clock, duration_cast
#include <optional>  // std::optional

namespace lazyload {
namespace detail {

// deadline_after()
//
// Returns now + `timeout`, or nothing when that is past what steady_clock
// can represent (the caller then waits without a deadline). A negative
// timeout is a deadline now.
template <class Rep, class Period>
std::optional<std::chrono::steady_clock::time_point> deadline_after(
    const std::chrono::duration<Rep, Period>& timeout) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point now = Clock::now();
  if (timeout <= timeout.zero()) return now;
  // Compare in double seconds, which cannot overflow for any duration type.
  const double wanted = std::chrono::duration<double>(timeout).count();
  const double room =
      std::chrono::duration<double>(Clock::time_point::max() - now).count();
  if (wanted >= room) return std::nullopt;
  return now + std::chrono::duration_cast<Clock::duration>(timeout);
}

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_DEADLINE_HPP_
