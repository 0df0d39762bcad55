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

// LoaderTraits<F>: how F is called and what it returns, exactly as declared:
// a value, or a reference (decayed only where T is deduced, loaded_type_t).
template <class F, class = void> struct LoaderTraits {
  static constexpr bool kCallable = false;
  static constexpr bool kTakesProgress = false;
  using result = void;
};
template <class F>
struct LoaderTraits<F, std::enable_if_t<std::is_invocable_v<F&, Progress&>>> {
  static constexpr bool kCallable = true;
  static constexpr bool kTakesProgress = true;
  using result = std::invoke_result_t<F&, Progress&>;
};
template <class F>
struct LoaderTraits<F, std::enable_if_t<!std::is_invocable_v<F&, Progress&> &&
                                        std::is_invocable_v<F&>>> {
  static constexpr bool kCallable = true;
  static constexpr bool kTakesProgress = false;
  using result = std::invoke_result_t<F&>;
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

// loaded_type_t<F>: the T of LazyHandle<T> that a loader F deduces: what F
// returns without reference or cv-qualifiers (a loader returning
// `const Config&` makes a LazyHandle<Config>, which holds a copy), with
// std::unique_ptr and std::shared_ptr unwrapped.
template <class F, class Traits = LoaderTraits<std::decay_t<F>>>
using loaded_type_t = std::conditional_t<
    Traits::kCallable && !std::is_void_v<typename Traits::result>,
    typename Unwrap<std::decay_t<typename Traits::result>>::type, BadLoader>;

// How a loader's result R (a value or a reference) becomes the value of a
// LazyHandle<T>, in this order:
// * kOwns: R is a smart pointer that std::shared_ptr<T> can take (or, for a
//   reference to a shared_ptr, share) ownership from.
// * kElides: R is a prvalue of T itself; it is materialized directly in the
//   handle's storage (guaranteed copy elision), so T need not be movable.
// * kConstructs: T is constructible from R: from a value by moving, from an
//   lvalue reference by copying (the handle owns a copy, not the referent).
template <class T, class R> struct LoaderResult {
  using Value = std::remove_const_t<T>;
  static constexpr bool kOwns = Unwrap<std::decay_t<R>>::kPointer &&
                                std::is_constructible_v<std::shared_ptr<T>, R>;
  static constexpr bool kElides = !kOwns && !std::is_reference_v<R> &&
                                  std::is_same_v<std::remove_cv_t<R>, Value>;
  static constexpr bool kConstructs =
      !kOwns && !kElides && std::is_constructible_v<Value, R>;
  static constexpr bool kUsable = kOwns || kElides || kConstructs;
  // A raw pointer to T: refused, since nobody would own the T.
  static constexpr bool kRawPointer =
      std::is_pointer_v<std::decay_t<R>> &&
      std::is_same_v<std::remove_cv_t<std::remove_pointer_t<std::decay_t<R>>>,
                     Value>;
  // A std::unique_ptr by lvalue reference: its ownership cannot be taken.
  static constexpr bool kUniquePtrLvalue =
      std::is_lvalue_reference_v<R> && Unwrap<std::decay_t<R>>::kPointer &&
      !std::is_copy_constructible_v<std::decay_t<R>>;
};

// Whether a loader returning R can produce a LazyHandle<T>.
template <class T, class R> constexpr bool returns_usable() {
  return LoaderResult<T, R>::kUsable;
}

// Calls the loader `fn` and turns its result into the shared_ptr a handle
// owns, as LoaderResult says.
template <class T, class F>
std::shared_ptr<T> call_loader(F& fn, Progress& progress) {
  using R = typename LoaderTraits<F>::result;
  using Result = LoaderResult<T, R>;
  using Value = typename Result::Value;
  const auto call = [&]() -> R {
    if constexpr (LoaderTraits<F>::kTakesProgress) {
      return std::invoke(fn, progress);
    } else {
      return std::invoke(fn);
    }
  };
  if constexpr (Result::kOwns) {
    return std::shared_ptr<T>(call());
  } else if constexpr (Result::kElides &&
                       !std::is_move_constructible_v<Value>) {
    // make_shared would need to move the prvalue into its storage; a
    // new-expression initializes the object from it directly. Two
    // allocations instead of one, for a T that cannot move.
    return std::shared_ptr<T>(new Value(call()));  // NOLINT: owned at once
  } else {
    return std::make_shared<Value>(call());
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
      return call_loader<T>(fn, progress);
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
