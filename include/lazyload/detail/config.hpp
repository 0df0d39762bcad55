// lazyload/detail/config.hpp
//
// Internal: compiler portability macros. Not part of the public interface;
// do not include it directly.

#ifndef LAZYLOAD_DETAIL_CONFIG_HPP_
#define LAZYLOAD_DETAIL_CONFIG_HPP_

#if defined(__GNUC__) || defined(__clang__)
#  define LAZYLOAD_PREDICT_TRUE(x) (__builtin_expect(static_cast<bool>(x), 1))
#  define LAZYLOAD_PREDICT_FALSE(x) (__builtin_expect(static_cast<bool>(x), 0))
#  define LAZYLOAD_NOINLINE __attribute__((noinline))
#  define LAZYLOAD_SUPPRESS_DEPRECATED_BEGIN \
    _Pragma("GCC diagnostic push")           \
        _Pragma("GCC diagnostic ignored \"-Wdeprecated-declarations\"")
#  define LAZYLOAD_SUPPRESS_DEPRECATED_END _Pragma("GCC diagnostic pop")
#else
#  define LAZYLOAD_PREDICT_TRUE(x) (x)
#  define LAZYLOAD_PREDICT_FALSE(x) (x)
#  define LAZYLOAD_NOINLINE
#  define LAZYLOAD_SUPPRESS_DEPRECATED_BEGIN
#  define LAZYLOAD_SUPPRESS_DEPRECATED_END
#endif

// LAZYLOAD_HAS_RTTI: 1 unless the compiler was told -fno-rtti. lazyload
// needs no RTTI; with it, handles also answer type() with a std::type_info.
#ifndef LAZYLOAD_HAS_RTTI
#  if defined(__GXX_RTTI) || defined(__cpp_rtti) || defined(_CPPRTTI)
#    define LAZYLOAD_HAS_RTTI 1
#  else
#    define LAZYLOAD_HAS_RTTI 0
#  endif
#endif

// LAZYLOAD_HAS_FORCED_UNWIND: 1 with libstdc++, where pthread_exit() and
// pthread_cancel() end a thread by throwing abi::__forced_unwind, which a
// catch-all must rethrow (else the process aborts).
#ifndef LAZYLOAD_HAS_FORCED_UNWIND
#  if defined(__GLIBCXX__)
#    define LAZYLOAD_HAS_FORCED_UNWIND 1
#  else
#    define LAZYLOAD_HAS_FORCED_UNWIND 0
#  endif
#endif

#endif  // LAZYLOAD_DETAIL_CONFIG_HPP_
