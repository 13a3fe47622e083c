// SPDX-License-Identifier: MIT
// Python objects <-> the bytes and flags memcached stores (binding).
//
// A ValueCodec names the flags scheme (the value layer's native one, or a
// peer's for the compat modules), the compression rule and the serde. Under
// the native scheme bytes, str, int and bool are stored natively and
// anything else goes through the serde (an object with serialize(key,
// value) -> (bytes, flags) and deserialize(key, bytes, flags) -> value),
// which also reads flags the scheme does not know. Under a peer's scheme
// values are written and read exactly as that peer does (pickle and libmc's
// marshal included); a serde, if set, then handles every value instead.
// Values read back are built straight from the reply views, with no
// intermediate copy unless they were compressed.
// Every function requires the GIL.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <Python.h>
#include <nanobind/nanobind.h>

#include <fastmc/client.hpp>

#include "value/compression.hpp"
#include "value/flags_scheme.hpp"

namespace fastmc::python {

// The key's bytes: a str's UTF-8 or a bytes object's contents, valid while
// the object lives. Raises TypeError for anything else.
std::string_view key_view(PyObject* key);

struct ValueCodec {
  const value::FlagsScheme* scheme = &value::flags_scheme(value::Peer::native);
  value::CompressionOptions compression{.rule = value::CompressionRule::never};
  nanobind::object serde = nanobind::none();
  int pickle_protocol = -1;  // pickle.HIGHEST_PROTOCOL
  // Values of more than value::kChunkSize bytes are split as libmc does.
  bool split_values = false;
  // Inflated values larger than this are a DecodeError.
  std::size_t max_value_size = std::size_t{64} * 1024 * 1024;
  // cause name -> exception class; None means fastmc.errors.CAUSES.
  nanobind::object error_classes = nanobind::none();

  [[nodiscard]] bool is_native() const noexcept { return scheme->peer == value::Peer::native; }
};

// Per-call compression settings: a negative threshold or a level below -1
// keeps the codec's.
struct CompressionOverride {
  long long threshold = -1;
  int level = -2;
};

// A value ready to send. `bytes` views the Python object, `digits` or
// `owner`; keep the EncodedValue (and the value) alive until sent.
struct EncodedValue {
  std::string_view bytes;
  std::uint32_t flags = 0;
  nanobind::object owner;
  std::string compressed;  // owns `bytes` when the value was compressed
  std::array<char, 32> digits;

  EncodedValue() = default;
  EncodedValue(const EncodedValue&) = delete;
  EncodedValue& operator=(const EncodedValue&) = delete;
};

// Fills `out` for `value`; raises TypeError when the value is not a native
// type and the native codec has no serde, or the serde's result is not
// (bytes, int).
void encode_value(PyObject* key, PyObject* value, const ValueCodec& codec, EncodedValue& out,
                  CompressionOverride compression = {});

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

// The Python object for a fetched item. Raises the codec's DecodeError when
// the scheme cannot read the flags (and no serde does), or the bytes do not
// fit the flags. A bytes value already received into `storage` is returned
// as is. Requires: the item is not a chunk index (is_chunk_index).
nanobind::object decode_value(PyObject* key, const ItemView& item, const ValueCodec& codec,
                              BytesStorage* storage = nullptr);

// True iff `item` is the index of a split value under the codec's scheme.
bool is_chunk_index(const ItemView& item, const ValueCodec& codec) noexcept;

}  // namespace fastmc::python
