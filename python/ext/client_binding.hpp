// SPDX-License-Identifier: MIT
// Binds fastmc::Client as fastmc._native.Client (binding). The meta calls
// are bound in meta_binding.cpp onto the same class.
#pragma once

#include <utility>

#include <nanobind/nanobind.h>

#include <fastmc/client.hpp>

#include "error_binding.hpp"
#include "value_objects.hpp"

namespace fastmc::python {

// What the bound Client holds: the C++ client and how values are encoded
// (the flags scheme, compression, serde and exception classes).
class NativeClient {
 public:
  NativeClient(Client client, ValueCodec codec)
      : client(std::move(client)), codec(std::move(codec)) {}

  Client client;
  ValueCodec codec;
};

// Runs `call` with the GIL released.
template <class Call>
auto without_gil(Call&& call) {
  nanobind::gil_scoped_release release;
  return call();
}

// The value of `result`, or raises its error as the client's class for it
// (fastmc.errors', or a compat module's).
template <class T>
T& value_or_raise(const NativeClient& self, Result<T>& result) {
  if (!result) raise_error(result.error(), self.codec.error_classes);
  return *result;
}

void register_client(nanobind::module_& module);

// Adds the meta-protocol calls to the bound Client, and their result types
// to `module` (meta_binding.cpp).
void register_meta_calls(nanobind::module_& module, nanobind::class_<NativeClient>& client);

}  // namespace fastmc::python
