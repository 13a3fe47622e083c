// SPDX-License-Identifier: MIT
// fastmc::Error -> the Python exception classes of fastmc.errors (binding).
// Requires the GIL.
#pragma once

#include <fastmc/errors.hpp>

namespace fastmc::python {

// Raises the fastmc.errors class for `error.code`, with the message, and
// `server` and `cause` attributes; throws nanobind::python_error.
[[noreturn]] void raise_error(const Error& error);

// Raises the fastmc.errors class for `code` with `message` and no server.
[[noreturn]] void raise_error(Errc code, const std::string& message);

}  // namespace fastmc::python
