// lazyload/memory.hpp
//
// Deprecated: the old path of <lazyload/memory_pressure.hpp>, kept for one
// minor release. Include <lazyload/memory_pressure.hpp> instead.

#ifndef LAZYLOAD_MEMORY_HPP_
#define LAZYLOAD_MEMORY_HPP_

#include "memory_pressure.hpp"

#endif  // LAZYLOAD_MEMORY_HPP_
