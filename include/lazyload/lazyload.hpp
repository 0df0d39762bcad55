// lazyload/lazyload.hpp
//
// The umbrella header: everything in lazyload that needs only the standard
// library, the Prometheus exposition and the trace timeline included. The
// adapters for other libraries (json.hpp and http.hpp for nlohmann_json,
// fmt.hpp for fmt, library.hpp for dlopen) are included on their own, which
// is how a program opts in to their dependency.

#ifndef LAZYLOAD_LAZYLOAD_HPP_
#define LAZYLOAD_LAZYLOAD_HPP_

#include "error.hpp"       // LazyError, LoadError, CycleError
#include "handle.hpp"      // LazyHandle<T>
#include "memory.hpp"      // PressureLevels, process_rss_bytes
#include "progress.hpp"    // Progress
#include "prometheus.hpp"  // to_prometheus
#include "registry.hpp"    // LazyRegistry
#include "status.hpp"      // Status, to_string
#include "trace.hpp"       // to_trace_json

#endif  // LAZYLOAD_LAZYLOAD_HPP_
