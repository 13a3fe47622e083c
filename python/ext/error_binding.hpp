// SPDX-License-Identifier: MIT
// fastmc::Error -> the Python exception classes of fastmc.errors, or of a
// compat module's table (binding). Requires the GIL.
#pragma once

#include <nanobind/nanobind.h>

#include <fastmc/errors.hpp>

namespace fastmc::python {

// Raises the fastmc.errors class for `error.code`, with the message, and
// `server` and `cause` attributes; throws nanobind::python_error. With a
// `classes` mapping (cause name -> class; a compat module's), its class for
// the cause is raised instead, constructed the same way.
[[noreturn]] void raise_error(const Error& error, nanobind::handle classes = nanobind::handle());

// Raises the fastmc.errors class for `code` with `message` and no server.
[[noreturn]] void raise_error(Errc code, const std::string& message);

}  // namespace fastmc::python
