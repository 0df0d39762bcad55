// lazyload/error.hpp
//
// The exceptions lazyload throws. There is one root, `LazyError`, so that
// `catch (const lazyload::LazyError&)` catches everything the library itself
// reports; beneath it, `LoadError` is a failed load, `CycleError` a load
// that would have waited for itself and `LoadCancelled` a load stopped by
// `cancel()`, `unload()` or the registry's destruction.
//
// Every message starts with `lazyload: `, is lower case, has no final period
// and names the entry it is about in quotes:
//
//   lazyload: resource 'db' is not registered
//   lazyload: loading 'model' failed: weights.bin: no such file
//   lazyload: cycle detected: 'a' -> 'b' -> 'a'
//
// A `LoadError` thrown because a loader threw carries the loader's exception
// as a nested exception (`std::rethrow_if_nested`), so callers that know the
// original type can still catch it.

#ifndef LAZYLOAD_ERROR_HPP_
#define LAZYLOAD_ERROR_HPP_

#include <stdexcept>  // std::runtime_error

namespace lazyload {

// LazyError
//
// The root of every exception lazyload throws: bad arguments (an empty or
// duplicate name, an unknown name, a type mismatch), and failed loads.
class LazyError : public std::runtime_error {
 public:
  // LazyError::LazyError(const std::string&), LazyError(const char*)
  //
  // Creates the exception with `what()` equal to the message.
  // Thread safety: none needed (construction).
  // Throws: std::bad_alloc only. Invalidates: none.
  using std::runtime_error::runtime_error;
};

// LoadError
//
// A load failed: the loader or the warm-up threw, returned a null pointer, or a
// dependency could not be loaded. `what()` names the entry and carries the
// original message; the original exception is nested when there was one.
class LoadError : public LazyError {
 public:
  // LoadError::LoadError(const std::string&), LoadError(const char*)
  //
  // Creates the exception with `what()` equal to the message.
  // Thread safety: none needed (construction).
  // Throws: std::bad_alloc only. Invalidates: none.
  using LazyError::LazyError;
};

// CycleError
//
// A load asked, directly or through other entries, on this thread or across
// threads, for a value that was being loaded on its own behalf. Waiting would
// have deadlocked; `what()` names the chain instead.
class CycleError : public LoadError {
 public:
  // CycleError::CycleError(const std::string&), CycleError(const char*)
  //
  // Creates the exception with `what()` equal to the message.
  // Thread safety: none needed (construction).
  // Throws: std::bad_alloc only. Invalidates: none.
  using LoadError::LoadError;
};

// LoadCancelled
//
// A load that was asked to stop (`cancel()`, `unload()` during the load, or
// the registry's destruction) and so published nothing. Loaders may throw it
// themselves, through `Progress::throw_if_stop_requested()`.
class LoadCancelled : public LoadError {
 public:
  // LoadCancelled::LoadCancelled(const std::string&), LoadCancelled(const char*)
  //
  // Creates the exception with `what()` equal to the message.
  // Thread safety: none needed (construction).
  // Throws: std::bad_alloc only. Invalidates: none.
  using LoadError::LoadError;
};

}  // namespace lazyload

#endif  // LAZYLOAD_ERROR_HPP_
