// lazyload/detail/dependency_graph.hpp
//
// Internal: the walks over a registry's declared dependencies. Both are
// iterative, with explicit stacks, so that a chain of any length needs no
// deep recursion. Not part of the public interface.
//
// * DependencyGraph::check_add() refuses an entry whose dependencies lead
//   back to it (a declared cycle), naming the path. An entry nothing
//   depends on yet cannot close a cycle, so adding one costs no walk, and
//   building a chain in either direction is linear.
// * load_order() lists entries by priority, each preceded by its registered
//   dependencies.
// * unloaded_dependencies() lists the dependencies of one entry that are not
//   loaded, each preceded by its own: loading them in that order, no load
//   has a dependency left to load, so a load never nests another.

#ifndef LAZYLOAD_DETAIL_DEPENDENCY_GRAPH_HPP_
#define LAZYLOAD_DETAIL_DEPENDENCY_GRAPH_HPP_

#include <algorithm>      // std::find, std::sort
#include <cstddef>        // std::size_t
#include <memory>         // std::unique_ptr
#include <string>         // std::string
#include <unordered_set>  // std::unordered_set
#include <utility>        // std::pair
#include <vector>         // std::vector

#include "../error.hpp"
#include "registry_entry.hpp"
#include "throw.hpp"

namespace lazyload {
namespace detail {

// DependencyGraph
//
// The names that registered entries declared as dependencies before those
// names were registered: only they can close a cycle. This class is
// thread-compatible: the registry calls it under its table's exclusive lock.
class DependencyGraph {
 public:
  // Throws CycleError if `depends_on` leads back to `name` through the
  // declared dependencies of the entries in `table`; else records the new
  // edges. Requires: `table`'s exclusive lock held.
  void check_add(const EntryTable& table, const std::string& name,
                 const std::vector<std::string>& depends_on) {
    const bool self = std::find(depends_on.begin(), depends_on.end(), name) !=
                      depends_on.end();
    if (self || depended_on_.count(name) != 0) {
      done_.clear();
      for (const std::string& dep : depends_on) {
        if (reaches(table, name, dep)) throw_cycle(name);
      }
    }
    // Only a name declared before it is registered can close a cycle when it
    // is: a dependency on a registered entry needs no remembering (keeping
    // every name made add() along a 100,000-link chain miss the cache).
    for (const std::string& dep : depends_on) {
      if (table.find_locked(dep) == nullptr) depended_on_.insert(dep);
    }
  }

 private:
  // Whether `start` leads to `name`; leaves the path in `path_` if so.
  bool reaches(const EntryTable& table, const std::string& name,
               const std::string& start) {
    path_.assign(1, name);
    if (start == name) return true;
    const RegistryEntry* first = table.find_locked(start);
    if (first == nullptr) return false;
    // Each frame: an entry on the path and the index of its next dependency.
    std::vector<std::pair<const RegistryEntry*, std::size_t>> stack{{first, 0}};
    path_.push_back(start);
    while (!stack.empty()) {
      auto& [entry, next] = stack.back();
      const std::vector<std::string>& deps = entry->options.depends_on;
      if (next == deps.size()) {
        done_.insert(path_.back());
        path_.pop_back();
        stack.pop_back();
        continue;
      }
      const std::string& dep = deps[next++];
      if (dep == name) return true;
      if (done_.count(dep) != 0) continue;
      const RegistryEntry* found = table.find_locked(dep);
      if (found == nullptr) continue;
      path_.push_back(dep);
      stack.emplace_back(found, 0);
    }
    return false;
  }

  [[noreturn]] void throw_cycle(const std::string& name) const {
    std::string chain;
    for (const std::string& step : path_) chain += quoted(step) + " -> ";
    chain += quoted(name);
    throw_error<CycleError>("lazyload: adding " + quoted(name) +
                            " closes a dependency cycle: " + chain);
  }

  std::unordered_set<std::string> depended_on_;  // declared before added
  std::vector<std::string> path_;                // scratch of reaches()
  std::unordered_set<std::string> done_;         // scratch of reaches()
};

// load_order()
//
// Priority order (ties in registration order), each entry preceded by its
// registered dependencies. Requires: `table`'s lock held, and no declared
// cycle (DependencyGraph refuses them), so that the walk terminates.
inline std::vector<RegistryEntry*> load_order(
    const EntryTable& table,
    const std::vector<std::unique_ptr<RegistryEntry>>& entries) {
  std::vector<RegistryEntry*> by_priority;
  by_priority.reserve(entries.size());
  for (const auto& e : entries) by_priority.push_back(e.get());
  // std::sort with registration order as the tie-break: the order of a
  // stable sort, for less compile time than std::stable_sort instantiates.
  std::sort(by_priority.begin(), by_priority.end(),
            [](const RegistryEntry* a, const RegistryEntry* b) {
              return a->options.priority != b->options.priority
                         ? a->options.priority < b->options.priority
                         : a->order < b->order;
            });
  std::vector<RegistryEntry*> order;
  order.reserve(entries.size());
  std::vector<bool> placed(entries.size(), false);
  std::vector<std::pair<RegistryEntry*, std::size_t>> stack;
  for (RegistryEntry* root : by_priority) {
    if (placed[root->order]) continue;
    placed[root->order] = true;
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto& [entry, next] = stack.back();
      const std::vector<std::string>& deps = entry->options.depends_on;
      if (next == deps.size()) {
        order.push_back(entry);
        stack.pop_back();
        continue;
      }
      RegistryEntry* dep = table.find_locked(deps[next++]);
      if (dep == nullptr || placed[dep->order]) continue;
      placed[dep->order] = true;
      stack.emplace_back(dep, 0);
    }
  }
  return order;
}

// unloaded_dependencies()
//
// The dependencies of `root`, direct and indirect, that are not loaded, each
// after its own dependencies (a post-order walk). The walk stops at a loaded
// entry and skips names not registered (the load of the entry that declares
// one fails on it). Requires: `table`'s lock held. Terminates on any graph:
// each entry is visited once.
// `entries` is the table's size: `seen` is indexed by RegistryEntry::order.
inline std::vector<LazyHandleBase*> unloaded_dependencies(
    const EntryTable& table, const RegistryEntry& root, std::size_t entries) {
  std::vector<LazyHandleBase*> order;
  std::vector<bool> seen(entries, false);
  seen[root.order] = true;
  // Each frame: an entry and the index of its next dependency.
  std::vector<std::pair<const RegistryEntry*, std::size_t>> stack{{&root, 0}};
  while (!stack.empty()) {
    auto& [entry, next] = stack.back();
    const std::vector<std::string>& deps = entry->options.depends_on;
    if (next == deps.size()) {
      if (entry != &root) order.push_back(entry->handle.get());
      stack.pop_back();
      continue;
    }
    const RegistryEntry* dep = table.find_locked(deps[next++]);
    if (dep == nullptr || dep->handle->is_loaded() || seen[dep->order]) {
      continue;
    }
    seen[dep->order] = true;
    stack.emplace_back(dep, 0);
  }
  return order;
}

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_DEPENDENCY_GRAPH_HPP_
