// lazyload/lazyload.hpp
//
// The umbrella header: everything in lazyload that needs only the standard
// library, the Prometheus exposition, the trace timeline and the warm-start
// profile included. The adapters for other libraries (json.hpp and http.hpp
// for nlohmann_json, fmt.hpp for fmt) and the POSIX-only headers
// (shared_library.hpp for dlopen, mapped_file.hpp for mmap) are included on
// their own, which is how a program opts in to their dependency.

#ifndef LAZYLOAD_LAZYLOAD_HPP_
#define LAZYLOAD_LAZYLOAD_HPP_

#include "error.hpp"             // LazyError, LoadError, CycleError
#include "events.hpp"            // StatusChange, LoadRecord
#include "handle.hpp"            // LazyHandle<T>
#include "load_future.hpp"       // LoadFuture
#include "memory_pressure.hpp"   // PressureThresholds, process_rss_bytes
#include "profile.hpp"           // save_profile, preload_profile
#include "progress.hpp"          // Progress
#include "prometheus.hpp"        // to_prometheus
#include "registry.hpp"          // LazyRegistry
#include "registry_options.hpp"  // EntryOptions, RegistryOptions
#include "snapshot.hpp"          // RegistrySnapshot, EntrySnapshot
#include "status.hpp"            // Status, to_string
#include "trace.hpp"             // to_trace_json
#include "version.hpp"           // LAZYLOAD_VERSION

#endif  // LAZYLOAD_LAZYLOAD_HPP_
