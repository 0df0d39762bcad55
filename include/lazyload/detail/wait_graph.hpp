// lazyload/detail/wait_graph.hpp
//
// Internal: deadlock detection for loads that wait on each other.
//
// A thread that must wait for a load another thread (or itself) is running
// records the edge "this thread waits for that load" in one process-wide
// graph. Before it records the edge it follows the chain: the load's owner
// thread, the load that thread waits for, that load's owner, ... If the chain
// comes back to the waiting thread, waiting would deadlock and it throws
// CycleError instead. The check and the insertion happen under one mutex, so
// of two threads that close a cycle at the same time, the second sees the
// first's edge. Only the slow path (a thread about to block) touches this.

#ifndef LAZYLOAD_DETAIL_WAIT_GRAPH_HPP_
#define LAZYLOAD_DETAIL_WAIT_GRAPH_HPP_

#include <algorithm>  // std::find
#include <atomic>     // std::atomic
#include <cstddef>    // std::size_t
#include <mutex>      // std::mutex, std::lock_guard
#include <string>     // std::string
#include <thread>     // std::thread::id, std::this_thread
#include <vector>     // std::vector

#include "../error.hpp"
#include "config.hpp"
#include "throw.hpp"

namespace lazyload {
namespace detail {

// What the graph needs to know of a load: who runs it, and its name.
struct LoadSite {
  std::atomic<std::thread::id> loader{};  // written under the handle's mutex
  std::string name;

  std::string label() const { return name.empty() ? "(unnamed)" : name; }
};

// The loads this thread is running, outermost first.
inline std::vector<const LoadSite*>& load_stack() {
  thread_local std::vector<const LoadSite*> stack;
  return stack;
}

// Pushes a site on this thread's load stack for the scope.
class LoadScope {
 public:
  explicit LoadScope(const LoadSite& site) { load_stack().push_back(&site); }
  ~LoadScope() { load_stack().pop_back(); }
  LoadScope(const LoadScope&) = delete;
  LoadScope& operator=(const LoadScope&) = delete;
};

// LoaderLockScope: marks, for a scope, that this thread is inside dlopen or
// dlclose, running a library's initializers or finalizers under the dynamic
// loader's lock (and lazyload's dl_mutex). Waiting there for a load another
// thread runs deadlocks as soon as that load opens a library, dlsym()s, or
// takes the loader's lock in any other way, so WaitGraph refuses it.
class LoaderLockScope {
 public:
  // What the thread runs: the library's initializers (dlopen) or its
  // finalizers (dlclose).
  enum class Code { initializer, finalizer };

  LoaderLockScope(const std::string& library, Code code) noexcept
      : library_(library), code_(code), outer_(current()) {
    current() = this;
  }
  ~LoaderLockScope() { current() = outer_; }
  LoaderLockScope(const LoaderLockScope&) = delete;
  LoaderLockScope& operator=(const LoaderLockScope&) = delete;

  // The innermost scope on this thread, null outside dlopen and dlclose.
  static const LoaderLockScope*& current() noexcept {
    thread_local const LoaderLockScope* scope = nullptr;
    return scope;
  }

  // Why waiting for `target` here is refused, and what to do instead.
  std::string refusal(const std::string& target) const {
    const std::string name = quoted(target);
    std::string out = "lazyload: waiting for " + name +
                      ", which another thread is loading, from inside the ";
    out += code_ == Code::initializer ? "initializer" : "finalizer";
    out += " of library " + quoted(library_) +
           " can deadlock on the dynamic loader's lock; ";
    if (code_ == Code::initializer) {
      out += "load " + name +
             " before opening the library, or do the work after dlopen "
             "returns";
    } else {
      out += "do the work with " + name + " before closing the library";
    }
    return out;
  }

 private:
  const std::string& library_;
  const Code code_;
  const LoaderLockScope* const outer_;
};

class WaitGraph {
 public:
  static WaitGraph& instance() {
    static WaitGraph graph;
    return graph;
  }

  // Records that this thread is about to wait for `target`; throws
  // CycleError, recording nothing, when that wait would never end, and when
  // this thread is inside dlopen or dlclose (see LoaderLockScope).
  void begin_wait(const LoadSite& target) {
    const std::thread::id me = std::this_thread::get_id();
    Edge& mine = own_edge();
    std::lock_guard<std::mutex> lock(mutex_);
    if (mine.graph == nullptr) {  // this thread's first wait: register it
      waiting_.push_back(&mine);
      mine.graph = this;
    }
    std::vector<const LoadSite*> chain{&target};
    const LoadSite* site = &target;
    for (std::size_t hops = 0; hops <= waiting_.size(); ++hops) {
      const std::thread::id owner = site->loader.load();
      if (owner == std::thread::id()) break;
      if (owner == me) throw_error<CycleError>(describe(chain));
      const Edge* edge = find(owner);
      if (edge == nullptr) break;
      site = edge->target.load(std::memory_order_acquire);
      if (site == nullptr) break;
      chain.push_back(site);
    }
    if (const LoaderLockScope* scope = LoaderLockScope::current()) {
      throw_error<CycleError>(scope->refusal(target.label()));
    }
    mine.target.store(&target, std::memory_order_release);
  }

  // Removes this thread's edge. Takes no lock: the waiters of one load all
  // end their waits together, and must not queue for a mutex to do it.
  static void end_wait() noexcept {
    own_edge().target.store(nullptr, std::memory_order_release);
  }

 private:
  // "cycle detected: 'x' -> 'y' -> 'x'": the loads waited for, then the loads
  // this thread runs on top of the last of them, then the first again.
  static std::string describe(const std::vector<const LoadSite*>& chain) {
    std::string out = "lazyload: cycle detected: ";
    for (const LoadSite* site : chain) out += quoted(site->label()) + " -> ";
    const auto& stack = load_stack();
    auto it = std::find(stack.begin(), stack.end(), chain.back());
    if (it != stack.end()) {
      for (++it; it != stack.end(); ++it)
        out += quoted((*it)->label()) + " -> ";
    }
    out += quoted(chain.front()->label());
    return out;
  }

  // One thread's edge: the load it waits for, null when it waits for none.
  // Registered in `waiting_` on the thread's first wait, removed when the
  // thread ends.
  struct Edge {
    std::atomic<const LoadSite*> target{nullptr};
    std::thread::id thread = std::this_thread::get_id();
    WaitGraph* graph = nullptr;  // set once registered

    Edge() = default;
    Edge(const Edge&) = delete;
    Edge& operator=(const Edge&) = delete;
    ~Edge() {
      if (graph == nullptr) return;
      std::lock_guard<std::mutex> lock(graph->mutex_);
      auto& edges = graph->waiting_;
      edges.erase(std::find(edges.begin(), edges.end(), this));
    }
  };

  static Edge& own_edge() noexcept {
    thread_local Edge edge;
    return edge;
  }

  std::mutex mutex_;
  // Requires: mutex_ held. The edge of thread `id`, null if it never waited.
  // A linear search: only a thread about to block comes here, and the
  // threads that ever waited are few; a hash map cost more to compile (in
  // every translation unit including handle.hpp) than it ever saved.
  const Edge* find(std::thread::id id) const noexcept {
    for (const Edge* edge : waiting_) {
      if (edge->thread == id) return edge;
    }
    return nullptr;
  }

  std::vector<Edge*> waiting_;  // guarded by mutex_
};

// Holds an edge of the wait graph for a scope.
class WaitScope {
 public:
  explicit WaitScope(const LoadSite& target) {
    WaitGraph::instance().begin_wait(target);
  }
  ~WaitScope() { WaitGraph::end_wait(); }
  WaitScope(const WaitScope&) = delete;
  WaitScope& operator=(const WaitScope&) = delete;
};

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_WAIT_GRAPH_HPP_
