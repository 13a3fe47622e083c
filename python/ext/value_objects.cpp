// SPDX-License-Identifier: MIT
#include "value_objects.hpp"

#include <charconv>
#include <string>

#include <nanobind/stl/string.h>

#include "error_binding.hpp"
#include "value/flags_scheme.hpp"

namespace nb = nanobind;

namespace fastmc::python {
namespace {

// Digits of the largest value PyLong_FromLongLong takes without overflow.
constexpr std::size_t kFastIntegerDigits = 18;

std::string printable_type(PyObject* object) { return Py_TYPE(object)->tp_name; }

[[noreturn]] void raise_decode_error(PyObject* key, const ItemView& item, const std::string& why) {
  nb::object cls = nb::module_::import_("fastmc.errors").attr("DecodeError");
  const std::string key_text = nb::cast<std::string>(nb::repr(nb::handle(key)));
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

void encode_value(PyObject* key, PyObject* value, const nb::object& serde, EncodedValue& out) {
  if (PyBytes_Check(value)) {
    out.bytes = {PyBytes_AS_STRING(value), static_cast<std::size_t>(PyBytes_GET_SIZE(value))};
    out.flags = value::native_flags_for(value::ValueKind::bytes);
    return;
  }
  if (PyUnicode_Check(value)) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(value, &size);
    if (data == nullptr) throw nb::python_error();
    out.bytes = {data, static_cast<std::size_t>(size)};
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
    int overflow = 0;
    const long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow == 0 && !(number == -1 && PyErr_Occurred())) {
      const auto [end, error] = std::to_chars(out.digits, out.digits + sizeof out.digits, number);
      (void)error;
      out.bytes = {out.digits, static_cast<std::size_t>(end - out.digits)};
      return;
    }
    PyErr_Clear();
    out.owner = nb::steal(PyObject_Str(value));
    if (!out.owner.is_valid()) throw nb::python_error();
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(out.owner.ptr(), &size);
    out.bytes = {data, static_cast<std::size_t>(size)};
    return;
  }
  if (serde.is_none()) {
    throw nb::type_error(("cannot store a " + printable_type(value) +
                          " without a serde: pass serde=fastmc.serde.json_serde or "
                          "fastmc.serde.pickle_serde to the Client")
                             .c_str());
  }
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
  out.bytes = {PyBytes_AS_STRING(data.ptr()),
               static_cast<std::size_t>(PyBytes_GET_SIZE(data.ptr()))};
  out.owner = std::move(data);
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

nb::object decode_value(PyObject* key, const ItemView& item, const nb::object& serde,
                        BytesStorage* storage) {
  const std::optional<value::ValueKind> kind = value::native_kind_of(item.flags);
  if (storage != nullptr && kind == value::ValueKind::bytes) {
    nb::object received = storage->take(item.value.data());
    if (received.is_valid()) return received;
  }
  const auto size = static_cast<Py_ssize_t>(item.value.size());
  if (!kind) {
    if (serde.is_none()) {
      raise_decode_error(key, item, "the flags name no native type and the client has no serde");
    }
    nb::object data = nb::steal(PyBytes_FromStringAndSize(item.value.data(), size));
    if (!data.is_valid()) throw nb::python_error();
    return serde.attr("deserialize")(nb::handle(key), data, item.flags);
  }
  switch (*kind) {
    case value::ValueKind::bytes: {
      PyObject* bytes = PyBytes_FromStringAndSize(item.value.data(), size);
      if (bytes == nullptr) throw nb::python_error();
      return nb::steal(bytes);
    }
    case value::ValueKind::text: {
      PyObject* text = PyUnicode_DecodeUTF8(item.value.data(), size, "strict");
      if (text == nullptr) {
        PyErr_Clear();
        raise_decode_error(key, item, "text flags but the bytes are not UTF-8");
      }
      return nb::steal(text);
    }
    case value::ValueKind::boolean: return nb::borrow(item.value == "1" ? Py_True : Py_False);
    case value::ValueKind::integer: {
      const bool negative = !item.value.empty() && item.value.front() == '-';
      const std::string_view digits = negative ? item.value.substr(1) : item.value;
      if (!digits.empty() && digits.size() <= kFastIntegerDigits) {
        long long magnitude = 0;
        const auto [end, error] =
            std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
        if (error == std::errc() && end == digits.data() + digits.size()) {
          return nb::steal(PyLong_FromLongLong(negative ? -magnitude : magnitude));
        }
      }
      // Longer numbers: Python parses them with arbitrary precision.
      const std::string text(item.value);
      PyObject* number = PyLong_FromString(text.c_str(), nullptr, 10);
      if (number == nullptr) {
        PyErr_Clear();
        raise_decode_error(key, item, "integer flags but the bytes are not a decimal number");
      }
      return nb::steal(number);
    }
  }
  raise_decode_error(key, item, "unknown kind");
}

}  // namespace fastmc::python
