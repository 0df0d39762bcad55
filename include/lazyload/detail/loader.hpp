// lazyload/detail/loader.hpp
//
// Internal: what a loader returns, how its result becomes the shared_ptr the
// handle owns, and a move-only type-erased wrapper for it.

#ifndef LAZYLOAD_DETAIL_LOADER_HPP_
#define LAZYLOAD_DETAIL_LOADER_HPP_

#include <functional>   // std::invoke
#include <memory>       // std::shared_ptr, std::unique_ptr, std::make_shared
#include <type_traits>  // std::is_invocable_v, std::invoke_result_t, ...
#include <utility>      // std::move

#include "../progress.hpp"

namespace lazyload {
namespace detail {

// The value type CTAD picks for an unusable loader; the constructor then
// fails with one static_assert that says what is wrong.
struct BadLoader {};

template <class> inline constexpr bool kDependentFalse = false;

// Unwrap<R>: the value type behind R, and whether R owns it through a pointer.
template <class R> struct Unwrap {
  using type = R;
  static constexpr bool kPointer = false;
};
template <class U, class D> struct Unwrap<std::unique_ptr<U, D>> {
  using type = U;
  static constexpr bool kPointer = true;
};
template <class U> struct Unwrap<std::shared_ptr<U>> {
  using type = U;
  static constexpr bool kPointer = true;
};

// LoaderTraits<F>: how F is called and what it returns.
template <class F, class = void> struct LoaderTraits {
  static constexpr bool kCallable = false;
  static constexpr bool kTakesProgress = false;
  using result = void;
};
template <class F>
struct LoaderTraits<F, std::enable_if_t<std::is_invocable_v<F&, Progress&>>> {
  static constexpr bool kCallable = true;
  static constexpr bool kTakesProgress = true;
  using result = std::decay_t<std::invoke_result_t<F&, Progress&>>;
};
template <class F>
struct LoaderTraits<F, std::enable_if_t<!std::is_invocable_v<F&, Progress&> &&
                                        std::is_invocable_v<F&>>> {
  static constexpr bool kCallable = true;
  static constexpr bool kTakesProgress = false;
  using result = std::decay_t<std::invoke_result_t<F&>>;
};

// is_empty_callable(f): whether `f` is a null function pointer or an empty
// std::function (anything that tests false), which cannot be called.
template <class F> bool is_empty_callable(const F& f) noexcept {
  if constexpr (std::is_pointer_v<F> || std::is_member_pointer_v<F>) {
    return f == nullptr;
  } else if constexpr (std::is_constructible_v<bool, const F&>) {
    return !static_cast<bool>(f);  // std::function and the like
  } else {
    return false;
  }
}

// loaded_type_t<F>: the T of LazyHandle<T> that a loader F deduces.
template <class F, class Traits = LoaderTraits<std::decay_t<F>>>
using loaded_type_t = std::conditional_t<
    Traits::kCallable && !std::is_void_v<typename Traits::result>,
    typename Unwrap<typename Traits::result>::type, BadLoader>;

// Whether a loader returning R can produce a LazyHandle<T>.
template <class T, class R> constexpr bool returns_usable() {
  if constexpr (Unwrap<R>::kPointer) {
    return std::is_constructible_v<std::shared_ptr<T>, R&&>;
  } else {
    return std::is_constructible_v<std::remove_const_t<T>, R&&>;
  }
}

// Turns a loader's result into the shared_ptr a handle owns.
template <class T, class R> std::shared_ptr<T> to_shared(R&& result) {
  if constexpr (Unwrap<std::decay_t<R>>::kPointer) {
    return std::shared_ptr<T>(std::forward<R>(result));
  } else {
    return std::make_shared<std::remove_const_t<T>>(std::forward<R>(result));
  }
}

// LoaderFn<T>: a move-only `std::shared_ptr<T>(Progress&)`. A loader may
// capture move-only state (a unique_ptr, a socket), which std::function
// would refuse.
template <class T> class LoaderFn {
 public:
  LoaderFn() = default;

  template <class F>
  explicit LoaderFn(F f) : impl_(std::make_unique<Impl<F>>(std::move(f))) {}

  std::shared_ptr<T> operator()(Progress& progress) {
    return impl_->call(progress);
  }

 private:
  struct Base {
    Base() = default;
    Base(const Base&) = delete;
    Base& operator=(const Base&) = delete;
    virtual ~Base() = default;
    virtual std::shared_ptr<T> call(Progress& progress) = 0;
  };
  template <class F> struct Impl final : Base {
    explicit Impl(F f) : fn(std::move(f)) {}
    std::shared_ptr<T> call(Progress& progress) override {
      if constexpr (LoaderTraits<F>::kTakesProgress) {
        return to_shared<T>(std::invoke(fn, progress));
      } else {
        return to_shared<T>(std::invoke(fn));
      }
    }
    F fn;
  };

  std::unique_ptr<Base> impl_;
};

// first_arg_t<F>: the parameter type of a one-parameter callable, void when
// it cannot be named (a generic lambda, an overload set).
template <class M> struct MemberFirstArg { using type = void; };
template <class R, class C, class A> struct MemberFirstArg<R (C::*)(A)> {
  using type = A;
};
template <class R, class C, class A> struct MemberFirstArg<R (C::*)(A) const> {
  using type = A;
};
template <class R, class C, class A>
struct MemberFirstArg<R (C::*)(A) noexcept> {
  using type = A;
};
template <class R, class C, class A>
struct MemberFirstArg<R (C::*)(A) const noexcept> {
  using type = A;
};

template <class F, class = void> struct FirstArg { using type = void; };
template <class F>
struct FirstArg<F, std::void_t<decltype(&F::operator())>>
    : MemberFirstArg<decltype(&F::operator())> {};
template <class R, class A> struct FirstArg<R (*)(A), void> { using type = A; };
template <class R, class A> struct FirstArg<R (*)(A) noexcept, void> {
  using type = A;
};

template <class F> using first_arg_t = typename FirstArg<std::decay_t<F>>::type;

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_LOADER_HPP_
