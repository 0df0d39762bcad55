// lazyload/library.hpp
//
// Deprecated: the old path of <lazyload/shared_library.hpp>, kept for one
// minor release. Include <lazyload/shared_library.hpp> instead.

#ifndef LAZYLOAD_LIBRARY_HPP_
#define LAZYLOAD_LIBRARY_HPP_

#include "shared_library.hpp"

#endif  // LAZYLOAD_LIBRARY_HPP_
