// benchmarks/support/alloc_counter.hpp
//
// Counts the calling thread's heap allocations, through a replaced global
// operator new (alloc_counter.cpp), so that a benchmark can report how many
// allocations and bytes an operation costs.
//
//   lazyload_bench::AllocScope scope;
//   registry.get<int>("name");
//   scope.allocations();  // 0

#ifndef LAZYLOAD_BENCH_ALLOC_COUNTER_HPP_
#define LAZYLOAD_BENCH_ALLOC_COUNTER_HPP_

#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t

namespace lazyload_bench {

// What operator new has handed out on this thread since it started.
struct AllocTotals {
  std::uint64_t allocations = 0;
  std::uint64_t bytes = 0;         // requested
  std::uint64_t usable_bytes = 0;  // malloc_usable_size(): what it occupies
};

AllocTotals thread_alloc_totals() noexcept;

// AllocScope
//
// The allocations of this thread between construction and each query.
// This type is thread-compatible, but not thread-safe.
class AllocScope {
 public:
  AllocScope() noexcept : start_(thread_alloc_totals()) {}
  std::uint64_t allocations() const noexcept {
    return thread_alloc_totals().allocations - start_.allocations;
  }
  std::uint64_t bytes() const noexcept {
    return thread_alloc_totals().bytes - start_.bytes;
  }
  std::uint64_t usable_bytes() const noexcept {
    return thread_alloc_totals().usable_bytes - start_.usable_bytes;
  }

 private:
  AllocTotals start_;
};

}  // namespace lazyload_bench

#endif  // LAZYLOAD_BENCH_ALLOC_COUNTER_HPP_
