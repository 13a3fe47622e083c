// SPDX-License-Identifier: MIT
// Binds fastmc::Client as fastmc._native.Client (binding).
#pragma once

#include <nanobind/nanobind.h>

namespace fastmc::python {

void register_client(nanobind::module_& module);

}  // namespace fastmc::python
