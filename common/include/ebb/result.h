// Errors as values. A function that can fail returns Result<T> (or Result<T, E>); callers must
// look at it. Exceptions stay inside a module and never cross its boundary.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ebb {

// A failure with a human-readable message. Messages must never contain secrets.
struct Error {
  std::string message;
  // True when retrying the same operation later can succeed (network down, timeout), false for
  // errors that only a change of input fixes (bad metadata, missing queue is retryable too).
  bool transient = false;
};

// One problem found while checking an object, located by its field path
// (e.g. "spec.triggers[1].metadata.lagThreshold").
struct FieldError {
  std::string path;
  std::string message;

  std::string str() const { return path.empty() ? message : path + ": " + message; }
  bool operator==(const FieldError&) const = default;
};
using FieldErrors = std::vector<FieldError>;

// Prefixes every path with `prefix` ("spec.triggers[0]" + "metadata.x" -> "spec.triggers[0].metadata.x").
inline FieldErrors prefixed(std::string_view prefix, FieldErrors errors) {
  for (auto& e : errors) {
    if (prefix.empty()) continue;
    e.path = e.path.empty() ? std::string(prefix) : std::string(prefix) + "." + e.path;
  }
  return errors;
}

template <class E>
struct Unexpected {
  E error;
};
template <class E>
Unexpected<std::decay_t<E>> unexpected(E&& e) {
  return {std::forward<E>(e)};
}
inline Unexpected<Error> fail(std::string message, bool transient = false) {
  return {Error{std::move(message), transient}};
}

template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  template <class U>
  Result(Unexpected<U> u) : v_(std::in_place_index<1>, E(std::move(u.error))) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  const E& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  E& error() {
    assert(!ok());
    return std::get<1>(v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  // The value, or `fallback` when this is an error.
  T value_or(T fallback) const& { return ok() ? std::get<0>(v_) : std::move(fallback); }

 private:
  std::variant<T, E> v_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  template <class U>
  Result(Unexpected<U> u) : error_(E(std::move(u.error))), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const E& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  E error_{};
  bool ok_ = true;
};

}  // namespace ebb
