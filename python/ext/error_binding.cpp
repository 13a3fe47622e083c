// SPDX-License-Identifier: MIT
#include "error_binding.hpp"

#include <nanobind/nanobind.h>

namespace nb = nanobind;

namespace fastmc::python {
namespace {

// fastmc.errors.CAUSES, looked up once. The reference is deliberately kept
// for the life of the process: releasing it at interpreter shutdown would
// race module teardown.
nb::handle cause_table() {
  static nb::handle table =
      nb::object(nb::module_::import_("fastmc.errors").attr("CAUSES")).release();
  return table;
}

}  // namespace

void raise_error(const Error& error, nb::handle classes) {
  const std::string_view cause = name_of(error.code);
  const nb::handle table = classes.is_valid() && !classes.is_none() ? classes : cause_table();
  nb::object cls = table[nb::str(cause.data(), cause.size())];
  nb::object server = nb::none();
  if (!error.server.empty()) server = nb::str(error.server.data(), error.server.size());
  nb::object instance =
      cls(nb::str(error.message.data(), error.message.size()), nb::arg("server") = server,
          nb::arg("cause") = nb::str(cause.data(), cause.size()));
  PyErr_SetObject(cls.ptr(), instance.ptr());
  throw nb::python_error();
}

void raise_error(Errc code, const std::string& message) { raise_error(Error{code, {}, message}); }

}  // namespace fastmc::python
