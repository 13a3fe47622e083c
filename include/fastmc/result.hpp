// SPDX-License-Identifier: MIT
// fastmc::Result<T>: a value or an Error, returned by every Client call.
//
// A miss is not an error: calls that can miss return Result<std::optional<T>>.
// Result is a small value type; not synchronised.
//
//   auto item = mc.get("k");
//   if (!item) log(item.error().message);
//   else if (*item) use((*item)->value);
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include <fastmc/errors.hpp>

namespace fastmc {

template <class T>
class [[nodiscard]] Result {
 public:
  // Implicit on purpose, so a call can `return value;` or `return error;`.
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // Requires: has_value().
  T& value() & {
    assert(has_value());
    return *std::get_if<0>(&state_);
  }
  [[nodiscard]] const T& value() const& {
    assert(has_value());
    return *std::get_if<0>(&state_);
  }
  T&& value() && {
    assert(has_value());
    return std::move(*std::get_if<0>(&state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // Requires: !has_value().
  [[nodiscard]] const Error& error() const {
    assert(!has_value());
    return *std::get_if<1>(&state_);
  }
  Error& error() {
    assert(!has_value());
    return *std::get_if<1>(&state_);
  }

 private:
  std::variant<T, Error> state_;
};

// For calls that return nothing but may fail.
struct Done {};

}  // namespace fastmc
