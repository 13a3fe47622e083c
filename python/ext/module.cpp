// SPDX-License-Identifier: MIT
// The fastmc._native extension module: registers the bound types.
#include <nanobind/nanobind.h>

#include "client_binding.hpp"

NB_MODULE(_native, module) {
  module.doc() = "fastmc's C++ core; use the fastmc package, not this module.";
  fastmc::python::register_client(module);
}
