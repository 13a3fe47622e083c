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

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <Python.h>
#include <nanobind/nanobind.h>

#include <fastmc/client.hpp>

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

// Receives large values straight into new bytes objects, so a fetched
// value is copied once (by the kernel) rather than twice. Allocation takes
// the GIL for a moment from inside the fetch; the objects are released with
// this storage, which therefore must be destroyed with the GIL held.
class BytesStorage final : public ValueStorage {
 public:
  std::span<char> allocate(std::string_view key, std::size_t size) override;
  // The bytes object whose buffer is `data`, handed over; invalid if this
  // storage did not make it.
  nanobind::object take(const char* data);

 private:
  std::vector<nanobind::object> objects_;
};

// The Python object for a fetched item. Raises fastmc.DecodeError when the
// flags are not native and `serde` is None, or the bytes do not fit the
// flags. A bytes value already received into `storage` is returned as is.
nanobind::object decode_value(PyObject* key, const ItemView& item, const nanobind::object& serde,
                              BytesStorage* storage = nullptr);

}  // namespace fastmc::python
