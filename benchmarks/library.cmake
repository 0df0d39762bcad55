# library_benchmark: LazySymbol against a function pointer and a direct call.
# Included by benchmarks/CMakeLists.txt (`include(library.cmake)`), after
# Google Benchmark is found; uses lazyload_bench_flags (-O2, code alignment
# pinned) when that file defines it.

if(NOT TARGET benchmark::benchmark)
  find_package(benchmark CONFIG QUIET)
endif()
if(TARGET benchmark::benchmark)
  # The library the benchmark calls: linked (for the direct call) and also
  # opened with dlopen by path (dlopen then finds it already loaded).
  add_library(lazyload_bench_plugin SHARED
              ${CMAKE_CURRENT_LIST_DIR}/library/bench_plugin.cpp)
  add_executable(library_benchmark ${CMAKE_CURRENT_LIST_DIR}/library_benchmark.cpp)
  target_compile_definitions(library_benchmark PRIVATE
    LAZYLOAD_BENCH_PLUGIN_PATH="$<TARGET_FILE:lazyload_bench_plugin>")
  foreach(target lazyload_bench_plugin library_benchmark)
    if(TARGET lazyload_bench_flags)
      target_link_libraries(${target} PRIVATE lazyload_bench_flags)
    else()
      target_compile_options(${target} PRIVATE -O2)
      target_link_libraries(${target} PRIVATE lazyload_warnings)
    endif()
  endforeach()
  target_link_libraries(library_benchmark PRIVATE lazyload::library
                                                  lazyload_bench_plugin
                                                  benchmark::benchmark)
endif()
