// SPDX-License-Identifier: MIT
#include "value_objects.hpp"

#include <charconv>
#include <string>

#include <nanobind/stl/string.h>

#include "error_binding.hpp"
#include "value/compression.hpp"
#include "value/flags_scheme.hpp"

namespace nb = nanobind;

namespace fastmc::python {
namespace {

// Digits of the largest value PyLong_FromLongLong takes without overflow.
constexpr std::size_t kFastIntegerDigits = 18;

std::string printable_type(PyObject* object) { return Py_TYPE(object)->tp_name; }

[[noreturn]] void raise_decode_error(PyObject* key, const ItemView& item, const ValueCodec& codec,
                                     const std::string& why) {
  nb::object cls = codec.error_classes.is_none()
                       ? nb::module_::import_("fastmc.errors").attr("DecodeError")
                       : nb::object(codec.error_classes["decode_error"]);
  const auto key_text = nb::cast<std::string>(nb::repr(nb::handle(key)));
  const std::string message = "cannot decode the value of key " + key_text + " (flags " +
                              std::to_string(item.flags) + "): " + why;
  PyErr_SetObject(cls.ptr(), cls(nb::str(message.data(), message.size())).ptr());
  throw nb::python_error();
}

}  // namespace

std::string_view key_view(PyObject* key) {
  if (PyUnicode_Check(key)) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(key, &size);
    if (data == nullptr) throw nb::python_error();
    return {data, static_cast<std::size_t>(size)};
  }
  if (PyBytes_Check(key)) {
    return {PyBytes_AS_STRING(key), static_cast<std::size_t>(PyBytes_GET_SIZE(key))};
  }
  throw nb::type_error(("a key must be str or bytes, not " + printable_type(key)).c_str());
}

namespace {

// Python's pickle and marshal, looked up once (modules are never unloaded).
nb::handle python_function(const char* module, const char* name) {
  return nb::object(nb::module_::import_(module).attr(name)).release();
}
nb::handle pickle_dumps() {
  static const nb::handle kFunction = python_function("pickle", "dumps");
  return kFunction;
}
nb::handle pickle_loads() {
  static const nb::handle kFunction = python_function("pickle", "loads");
  return kFunction;
}
nb::handle marshal_dumps() {
  static const nb::handle kFunction = python_function("marshal", "dumps");
  return kFunction;
}
nb::handle marshal_loads() {
  static const nb::handle kFunction = python_function("marshal", "loads");
  return kFunction;
}

// libmc writes marshal format 2 (its str and dict vectors in tests/data/values).
constexpr int kLibmcMarshalVersion = 2;

// Requires: PyBytes_Check(bytes); the caller keeps `bytes` alive.
void view_bytes(PyObject* bytes, EncodedValue& out) noexcept {
  out.bytes = {PyBytes_AS_STRING(bytes), static_cast<std::size_t>(PyBytes_GET_SIZE(bytes))};
}

void view_bytes_object(nb::object bytes, EncodedValue& out) {
  if (!bytes.is_valid() || !PyBytes_Check(bytes.ptr())) throw nb::python_error();
  view_bytes(bytes.ptr(), out);
  out.owner = std::move(bytes);
}

void view_utf8(PyObject* text, EncodedValue& out) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text, &size);
  if (data == nullptr) throw nb::python_error();
  out.bytes = {data, static_cast<std::size_t>(size)};
}

void view_decimal(PyObject* integer, EncodedValue& out) {
  int overflow = 0;
  const long long number = PyLong_AsLongLongAndOverflow(integer, &overflow);
  if (overflow == 0 && !(number == -1 && PyErr_Occurred())) {
    const auto [end, error] =
        std::to_chars(out.digits.data(), out.digits.data() + out.digits.size(), number);
    (void)error;
    out.bytes = {out.digits.data(), static_cast<std::size_t>(end - out.digits.data())};
    return;
  }
  PyErr_Clear();
  out.owner = nb::steal(PyLong_Type.tp_repr(integer));  // int's own digits, for subclasses too
  if (!out.owner.is_valid()) throw nb::python_error();
  view_utf8(out.owner.ptr(), out);
}

void encode_with_serde(PyObject* key, PyObject* value, const nb::object& serde, EncodedValue& out) {
  nb::object result = serde.attr("serialize")(nb::handle(key), nb::handle(value));
  if (!PyTuple_Check(result.ptr()) || PyTuple_GET_SIZE(result.ptr()) != 2) {
    throw nb::type_error("serde.serialize must return a (bytes, flags) tuple");
  }
  nb::object data = nb::borrow(PyTuple_GET_ITEM(result.ptr(), 0));
  if (PyUnicode_Check(data.ptr())) data = nb::steal(PyUnicode_AsUTF8String(data.ptr()));
  if (!data.is_valid() || !PyBytes_Check(data.ptr())) {
    throw nb::type_error("serde.serialize must return bytes as the value");
  }
  out.flags = nb::cast<std::uint32_t>(nb::handle(PyTuple_GET_ITEM(result.ptr(), 1)));
  view_bytes_object(std::move(data), out);
}

value::PythonType python_type_of(PyObject* value) noexcept {
  if (PyBytes_Check(value)) return value::PythonType::bytes;
  if (PyUnicode_Check(value)) return value::PythonType::str;
  if (PyBool_Check(value)) return value::PythonType::boolean;  // before int: a subclass
  if (PyLong_Check(value)) return value::PythonType::integer;
  if (PyFloat_Check(value)) return value::PythonType::floating_point;
  return value::PythonType::other;
}

// The serialized bytes of `value` as `kind`, as the codec's peer makes them.
void serialize_as(PyObject* value, value::StoredKind kind, const ValueCodec& codec,
                  EncodedValue& out) {
  using value::StoredKind;
  switch (kind) {
    case StoredKind::bytes:
      if (PyBytes_Check(value)) {
        view_bytes(value, out);
      } else {  // pymemcache without a serde: str(value)
        out.owner = nb::steal(PyObject_Str(value));
        if (!out.owner.is_valid()) throw nb::python_error();
        view_utf8(out.owner.ptr(), out);
      }
      return;
    case StoredKind::text: view_utf8(value, out); return;
    case StoredKind::integer:
    case StoredKind::long_integer: view_decimal(value, out); return;
    case StoredKind::boolean: out.bytes = value == Py_True ? "1" : "0"; return;
    case StoredKind::pickle:
      view_bytes_object(pickle_dumps()(nb::handle(value), codec.pickle_protocol), out);
      return;
    case StoredKind::marshal:
      view_bytes_object(marshal_dumps()(nb::handle(value), kLibmcMarshalVersion), out);
      return;
  }
}

}  // namespace

void encode_value(PyObject* key, PyObject* value, const ValueCodec& codec, EncodedValue& out,
                  CompressionOverride compression) {
  if (!codec.is_native()) {
    if (!codec.serde.is_none()) {
      encode_with_serde(key, value, codec.serde, out);
    } else if (PyBytes_CheckExact(value) &&
               codec.scheme->writes[static_cast<std::size_t>(value::PythonType::bytes)] ==
                   value::StoredKind::bytes) {
      // Bytes stored as they are, the common case of every peer's scheme.
      view_bytes(value, out);
      out.flags = value::flags_for(*codec.scheme, value::StoredKind::bytes);
    } else {
      value::StoredKind kind = value::kind_written(*codec.scheme, python_type_of(value));
      if (kind == value::StoredKind::marshal) {
        // libmc pickles what marshal refuses (a custom class).
        try {
          serialize_as(value, kind, codec, out);
        } catch (nb::python_error& error) {
          if (!error.matches(PyExc_ValueError)) throw;
          kind = value::StoredKind::pickle;
          serialize_as(value, kind, codec, out);
        }
      } else {
        serialize_as(value, kind, codec, out);
      }
      out.flags = value::flags_for(*codec.scheme, kind);
    }
    value::CompressionOptions options = codec.compression;
    if (compression.threshold >= 0)
      options.threshold = static_cast<std::size_t>(compression.threshold);
    if (compression.level >= -1) options.level = compression.level;
    if (options.rule != value::CompressionRule::never && options.threshold != 0 &&
        codec.scheme->compressed != 0) {
      std::optional<std::string> compressed = value::compress_value(out.bytes, options);
      if (compressed) {
        out.compressed = std::move(*compressed);
        out.bytes = out.compressed;
        out.flags |= codec.scheme->compressed;
      }
    }
    return;
  }
  const nb::object& serde = codec.serde;
  if (PyBytes_Check(value)) {
    view_bytes(value, out);
    out.flags = value::native_flags_for(value::ValueKind::bytes);
    return;
  }
  if (PyUnicode_Check(value)) {
    view_utf8(value, out);
    out.flags = value::native_flags_for(value::ValueKind::text);
    return;
  }
  if (PyBool_Check(value)) {  // before int: bool is an int subclass
    out.bytes = value == Py_True ? "1" : "0";
    out.flags = value::native_flags_for(value::ValueKind::boolean);
    return;
  }
  if (PyLong_CheckExact(value) || (PyLong_Check(value) && serde.is_none())) {
    out.flags = value::native_flags_for(value::ValueKind::integer);
    view_decimal(value, out);
    return;
  }
  if (serde.is_none()) {
    throw nb::type_error(("cannot store a " + printable_type(value) +
                          " without a serde: pass serde=fastmc.serde.json_serde or "
                          "fastmc.serde.pickle_serde to the Client")
                             .c_str());
  }
  encode_with_serde(key, value, serde, out);
}

std::span<char> BytesStorage::allocate(std::string_view key, std::size_t size) {
  (void)key;
  nb::gil_scoped_acquire gil;
  PyObject* bytes = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size));
  if (bytes == nullptr) {
    PyErr_Clear();  // declined: the value is read into the client's buffer instead
    return {};
  }
  objects_.push_back(nb::steal(bytes));
  return {PyBytes_AS_STRING(bytes), size};
}

nb::object BytesStorage::take(const char* data) {
  for (nb::object& object : objects_) {
    if (object.is_valid() && PyBytes_AS_STRING(object.ptr()) == data) return std::move(object);
  }
  return {};
}

namespace {

nb::object bytes_object(std::string_view data) {
  PyObject* bytes = PyBytes_FromStringAndSize(data.data(), static_cast<Py_ssize_t>(data.size()));
  if (bytes == nullptr) throw nb::python_error();
  return nb::steal(bytes);
}

nb::object text_object(PyObject* key, const ItemView& item, std::string_view data,
                       const ValueCodec& codec) {
  PyObject* text =
      PyUnicode_DecodeUTF8(data.data(), static_cast<Py_ssize_t>(data.size()), "strict");
  if (text == nullptr) {
    PyErr_Clear();
    raise_decode_error(key, item, codec, "text flags but the bytes are not UTF-8");
  }
  return nb::steal(text);
}

nb::object integer_object(PyObject* key, const ItemView& item, std::string_view data,
                          const ValueCodec& codec) {
  const bool negative = !data.empty() && data.front() == '-';
  const std::string_view digits = negative ? data.substr(1) : data;
  if (!digits.empty() && digits.size() <= kFastIntegerDigits) {
    long long magnitude = 0;
    const auto [end, error] =
        std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
    if (error == std::errc() && end == digits.data() + digits.size()) {
      return nb::steal(PyLong_FromLongLong(negative ? -magnitude : magnitude));
    }
  }
  // Longer numbers: Python parses them with arbitrary precision.
  const std::string text(data);
  PyObject* number = PyLong_FromString(text.c_str(), nullptr, 10);
  if (number == nullptr) {
    PyErr_Clear();
    raise_decode_error(key, item, codec, "integer flags but the bytes are not a decimal number");
  }
  return nb::steal(number);
}

// A value stored by a peer's scheme (or read through a serde under one).
nb::object decode_peer_value(PyObject* key, const ItemView& item, const ValueCodec& codec,
                             BytesStorage* storage) {
  const auto received = [&]() -> nb::object {
    if (storage != nullptr) {
      nb::object object = storage->take(item.value.data());
      if (object.is_valid()) return object;
    }
    return bytes_object(item.value);
  };
  if (!codec.serde.is_none()) {
    return codec.serde.attr("deserialize")(nb::handle(key), received(), item.flags);
  }
  const value::DecodedFlags decoded = value::decode_kind(*codec.scheme, item.flags);
  std::string_view data = item.value;
  value::InflateResult inflated;
  if (decoded.compressed) {
    inflated = value::inflate_value(data, codec.max_value_size);
    if (inflated.error != value::InflateError::none) {
      if (codec.scheme->inflate_failure_reads_none) return nb::none();
      raise_decode_error(key, item, codec,
                         "the value is marked compressed but cannot be inflated (" +
                             std::string(value::inflate_error_name(inflated.error)) + ")");
    }
    data = inflated.value;
  }
  if (!decoded.kind) raise_decode_error(key, item, codec, "unknown memcached key flags");
  using value::StoredKind;
  switch (*decoded.kind) {
    case StoredKind::bytes: return decoded.compressed ? bytes_object(data) : received();
    case StoredKind::text: return text_object(key, item, data, codec);
    case StoredKind::integer:
    case StoredKind::long_integer: return integer_object(key, item, data, codec);
    case StoredKind::boolean: {
      nb::object number = integer_object(key, item, data, codec);
      return nb::borrow(PyObject_IsTrue(number.ptr()) ? Py_True : Py_False);
    }
    case StoredKind::pickle:
      if (codec.scheme->unpickle_failure_reads_none) {
        PyObject* loaded = PyObject_CallOneArg(pickle_loads().ptr(), bytes_object(data).ptr());
        if (loaded == nullptr) {
          if (!PyErr_ExceptionMatches(PyExc_Exception)) throw nb::python_error();
          PyErr_Clear();
          return nb::none();
        }
        return nb::steal(loaded);
      }
      return pickle_loads()(bytes_object(data));
    case StoredKind::marshal: return marshal_loads()(bytes_object(data));
  }
  raise_decode_error(key, item, codec, "unknown kind");
}

}  // namespace

bool is_chunk_index(const ItemView& item, const ValueCodec& codec) noexcept {
  return codec.split_values && codec.scheme->chunked != 0 &&
         (item.flags & codec.scheme->chunked) != 0;
}

nb::object decode_value(PyObject* key, const ItemView& item, const ValueCodec& codec,
                        BytesStorage* storage) {
  if (!codec.is_native()) return decode_peer_value(key, item, codec, storage);
  const std::optional<value::ValueKind> kind = value::native_kind_of(item.flags);
  if (storage != nullptr && kind == value::ValueKind::bytes) {
    nb::object received = storage->take(item.value.data());
    if (received.is_valid()) return received;
  }
  if (!kind) {
    if (codec.serde.is_none()) {
      raise_decode_error(key, item, codec,
                         "the flags name no native type and the client has no serde");
    }
    return codec.serde.attr("deserialize")(nb::handle(key), bytes_object(item.value), item.flags);
  }
  switch (*kind) {
    case value::ValueKind::bytes: return bytes_object(item.value);
    case value::ValueKind::text: return text_object(key, item, item.value, codec);
    case value::ValueKind::boolean: return nb::borrow(item.value == "1" ? Py_True : Py_False);
    case value::ValueKind::integer: return integer_object(key, item, item.value, codec);
  }
  raise_decode_error(key, item, codec, "unknown kind");
}

}  // namespace fastmc::python
