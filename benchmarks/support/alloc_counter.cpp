// benchmarks/support/alloc_counter.cpp
//
// The replaced global operator new and delete behind alloc_counter.hpp. Counts
// per thread (no shared counter, so that counting adds no contention to the
// multi-threaded benchmarks) and forwards to malloc and free.

#include "alloc_counter.hpp"

#include <malloc.h>  // malloc_usable_size

#include <cstdlib>  // std::malloc, std::free
#include <new>      // std::bad_alloc, std::nothrow_t

namespace {

thread_local lazyload_bench::AllocTotals t_totals;

void* counted_alloc(std::size_t size) noexcept {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p != nullptr) {
    ++t_totals.allocations;
    t_totals.bytes += size;
    t_totals.usable_bytes += malloc_usable_size(p);
  }
  return p;
}

}  // namespace

namespace lazyload_bench {

AllocTotals thread_alloc_totals() noexcept { return t_totals; }

}  // namespace lazyload_bench

void* operator new(std::size_t size) {
  if (void* p = counted_alloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted_alloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t& /*tag*/) noexcept {
  return counted_alloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t& /*tag*/) noexcept {
  return counted_alloc(size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t /*size*/) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t /*size*/) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t& /*tag*/) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t& /*tag*/) noexcept {
  std::free(p);
}
