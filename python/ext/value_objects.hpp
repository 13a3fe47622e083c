// SPDX-License-Identifier: MIT
// Python objects <-> the bytes and flags memcached stores (binding).
//
// bytes, str, int and bool are stored natively with the flags of the value
// layer's native scheme; anything else goes through the client's serde
// (an object with serialize(key, value) -> (bytes, flags) and
// deserialize(key, bytes, flags) -> value). Values read back are built
// straight from the reply views, with no intermediate copy.
// Every function requires the GIL.
#pragma once

#include <Python.h>

#include <cstdint>
#include <string_view>

#include <fastmc/client.hpp>
#include <nanobind/nanobind.h>

namespace fastmc::python {

// The key's bytes: a str's UTF-8 or a bytes object's contents, valid while
// the object lives. Raises TypeError for anything else.
std::string_view key_view(PyObject* key);

// A value ready to send. `bytes` views the Python object, `digits` or
// `owner`; keep the EncodedValue (and the value) alive until sent.
struct EncodedValue {
  std::string_view bytes;
  std::uint32_t flags = 0;
  nanobind::object owner;
  char digits[32];

  EncodedValue() = default;
  EncodedValue(const EncodedValue&) = delete;
  EncodedValue& operator=(const EncodedValue&) = delete;
};

// Fills `out` for `value`; raises TypeError when the value is not a native
// type and `serde` is None, or the serde's result is not (bytes, int).
void encode_value(PyObject* key, PyObject* value, const nanobind::object& serde, EncodedValue& out);

// The Python object for a fetched item. Raises fastmc.DecodeError when the
// flags are not native and `serde` is None, or the bytes do not fit the flags.
nanobind::object decode_value(PyObject* key, const ItemView& item, const nanobind::object& serde);

}  // namespace fastmc::python
