// SPDX-License-Identifier: MIT
// The meta-protocol calls of fastmc._native.Client and their result types
// (binding): get_item, get_or_lease, store, invalidate, arithmetic. Each
// converts its arguments, calls the C++ client with the GIL released, and
// builds a small read-only result object. The semantics are the C++ ones
// (include/fastmc/client.hpp); the Python API is in docs/api/python.md.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include "client_binding.hpp"
#include "value_objects.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace fastmc::python {
namespace {

// fastmc.MetaItem: a value read with its metadata.
struct PyMetaItem {
  nb::object value;
  std::uint32_t flags = 0;
  std::uint64_t cas = 0;
  std::int64_t ttl = -1;
  std::optional<std::uint64_t> last_access;
  std::optional<bool> hit_before;
  bool stale = false;
  bool won = false;
  bool already_won = false;
  std::optional<std::string> opaque;
};

// fastmc.Lease: what get_or_lease found.
struct PyLease {
  nb::object item;  // a MetaItem or None
  bool must_recompute = false;
};

// fastmc.StoreResult: the outcome of store.
struct PyStoreResult {
  std::string status;
  std::uint64_t cas = 0;
  std::optional<std::string> opaque;
};

// fastmc.Counter: the outcome of arithmetic.
struct PyCounter {
  std::uint64_t value = 0;
  std::uint64_t cas = 0;
  std::int64_t ttl = -1;
  std::optional<std::string> opaque;
};

std::optional<std::string> optional_text(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

std::uint64_t to_unsigned(nb::handle number, const char* name) {
  if (!PyLong_Check(number.ptr()))
    throw nb::type_error((std::string(name) + " must be an int").c_str());
  const unsigned long long value = PyLong_AsUnsignedLongLong(number.ptr());
  if (value == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    raise_error(Errc::invalid_argument, std::string(name) + " must be an int from 0 to 2**64-1");
  }
  return value;
}

std::optional<std::uint64_t> optional_unsigned(nb::handle number, const char* name) {
  if (number.is_none()) return std::nullopt;
  return to_unsigned(number, name);
}

nb::object meta_item_object(NativeClient& self, nb::handle key, const MetaItem& item) {
  const ItemView view{.key = {}, .value = item.value, .flags = item.flags, .cas = item.cas};
  return nb::cast(PyMetaItem{
      .value = decode_value(key.ptr(), view, self.codec),
      .flags = item.flags,
      .cas = item.cas,
      .ttl = item.ttl,
      .last_access = item.last_access,
      .hit_before = item.hit_before,
      .stale = item.stale,
      .won = item.won,
      .already_won = item.already_won,
      .opaque = optional_text(item.opaque),
  });
}

StoreMode store_mode(const std::string& mode) {
  if (mode == "set") return StoreMode::set;
  if (mode == "add") return StoreMode::add;
  if (mode == "replace") return StoreMode::replace;
  if (mode == "append") return StoreMode::append;
  if (mode == "prepend") return StoreMode::prepend;
  raise_error(
      Errc::invalid_argument,
      R"(mode must be "set", "add", "replace", "append" or "prepend", not ")" + mode + "\"");
}

const char* status_name(StoreStatus status) {
  switch (status) {
    case StoreStatus::stored: return "stored";
    case StoreStatus::not_stored: return "not_stored";
    case StoreStatus::exists: return "exists";
    case StoreStatus::not_found: return "not_found";
  }
  return "stored";
}

nb::object get_item(NativeClient& self, nb::handle key, std::optional<std::int64_t> touch,
                    std::optional<std::int64_t> vivify, std::optional<std::int64_t> recache,
                    std::optional<std::string> opaque) {
  const std::string_view key_bytes = key_view(key.ptr());
  const ReadOptions options{
      .with_last_access = true,
      .with_hit_before = true,
      .touch_ttl = touch,
      .vivify_ttl = vivify,
      .recache_ttl = recache,
      .opaque = opaque ? std::string_view(*opaque) : std::string_view(),
  };
  Result<std::optional<MetaItem>> read =
      without_gil([&] { return self.client.get_item(key_bytes, options); });
  const std::optional<MetaItem>& item = value_or_raise(self, read);
  if (!item) return nb::none();
  return meta_item_object(self, key, *item);
}

PyLease get_or_lease(NativeClient& self, nb::handle key, std::int64_t lease_ttl,
                     std::int64_t recache_ttl) {
  const std::string_view key_bytes = key_view(key.ptr());
  Result<LeaseResult> leased =
      without_gil([&] { return self.client.get_or_lease(key_bytes, lease_ttl, recache_ttl); });
  const LeaseResult& lease = value_or_raise(self, leased);
  return PyLease{
      .item = lease.item ? meta_item_object(self, key, *lease.item) : nb::none(),
      .must_recompute = lease.must_recompute,
  };
}

PyStoreResult store(NativeClient& self, nb::handle key, nb::handle value, std::int64_t ttl,
                    const std::string& mode, nb::handle cas, bool invalidate,
                    std::optional<std::string> opaque) {
  const std::string_view key_bytes = key_view(key.ptr());
  EncodedValue encoded;
  encode_value(key.ptr(), value.ptr(), self.codec, encoded);
  const StoreRequest request{
      .mode = store_mode(mode),
      .ttl = ttl,
      .flags = encoded.flags,
      .compare_cas = optional_unsigned(cas, "cas"),
      .invalidate = invalidate,
      .opaque = opaque ? std::string_view(*opaque) : std::string_view(),
  };
  Result<StoreResult> stored =
      without_gil([&] { return self.client.store(key_bytes, encoded.bytes, request); });
  const StoreResult& result = value_or_raise(self, stored);
  return PyStoreResult{status_name(result.status), result.cas, optional_text(result.opaque)};
}

std::optional<PyCounter> arithmetic(NativeClient& self, nb::handle key, nb::handle delta,
                                    bool decrement, nb::handle initial, std::int64_t ttl,
                                    nb::handle cas, std::optional<std::string> opaque) {
  const std::string_view key_bytes = key_view(key.ptr());
  const ArithmeticOptions options{
      .decrement = decrement,
      .delta = to_unsigned(delta, "delta"),
      .initial = optional_unsigned(initial, "initial"),
      .ttl = ttl,
      .compare_cas = optional_unsigned(cas, "cas"),
      .opaque = opaque ? std::string_view(*opaque) : std::string_view(),
  };
  Result<std::optional<Counter>> counted =
      without_gil([&] { return self.client.arithmetic(key_bytes, options); });
  const std::optional<Counter>& counter = value_or_raise(self, counted);
  if (!counter) return std::nullopt;
  return PyCounter{counter->value, counter->cas, counter->ttl, optional_text(counter->opaque)};
}

std::string item_repr(const PyMetaItem& item) {
  std::string text = "MetaItem(value=" + nb::cast<std::string>(nb::repr(item.value));
  text += ", flags=" + std::to_string(item.flags) + ", cas=" + std::to_string(item.cas);
  text += ", ttl=" + std::to_string(item.ttl);
  if (item.stale) text += ", stale=True";
  if (item.won) text += ", won=True";
  if (item.already_won) text += ", already_won=True";
  return text + ")";
}

}  // namespace

void register_meta_calls(nb::module_& module, nb::class_<NativeClient>& client) {
  nb::class_<PyMetaItem>(module, "MetaItem",
                         "A value read with get_item, with what memcached says of it.")
      .def_ro("value", &PyMetaItem::value, "The decoded value.")
      .def_ro("flags", &PyMetaItem::flags, "The client flags stored with it.")
      .def_ro("cas", &PyMetaItem::cas, "Its cas, for store(..., cas=).")
      .def_ro("ttl", &PyMetaItem::ttl, "Seconds until it expires; -1 if it never does.")
      .def_ro("last_access", &PyMetaItem::last_access,
              "Seconds since it was last accessed, before this read.")
      .def_ro("hit_before", &PyMetaItem::hit_before, "Whether it had been read before.")
      .def_ro("stale", &PyMetaItem::stale, "It was invalidated: the value is out of date.")
      .def_ro("won", &PyMetaItem::won, "This caller must recompute and store it.")
      .def_ro("already_won", &PyMetaItem::already_won,
              "Another caller is recomputing it; use the value you have.")
      .def_ro("opaque", &PyMetaItem::opaque, "The opaque given to the read, echoed.")
      .def("__repr__", &item_repr);
  nb::class_<PyLease>(module, "Lease", "What get_or_lease found.")
      .def_ro("item", &PyLease::item,
              "The MetaItem to use (fresh, or stale while another caller recomputes), or None.")
      .def_ro("must_recompute", &PyLease::must_recompute,
              "This caller holds the lease: compute the value and set it.")
      .def_prop_ro(
          "value",
          [](const PyLease& lease) -> nb::object {
            return lease.item.is_none() ? nb::none() : nb::object(lease.item.attr("value"));
          },
          "item.value, or None without an item.")
      .def("__repr__", [](const PyLease& lease) {
        return "Lease(item=" + nb::cast<std::string>(nb::repr(lease.item)) +
               ", must_recompute=" + (lease.must_recompute ? "True" : "False") + ")";
      });
  nb::class_<PyStoreResult>(module, "StoreResult", "The outcome of store.")
      .def_ro("status", &PyStoreResult::status,
              R"("stored", "not_stored", "exists" (cas mismatch) or "not_found".)")
      .def_ro("cas", &PyStoreResult::cas, "The stored item's new cas; 0 unless stored.")
      .def_ro("opaque", &PyStoreResult::opaque)
      .def_prop_ro("stored", [](const PyStoreResult& result) { return result.status == "stored"; })
      .def("__bool__", [](const PyStoreResult& result) { return result.status == "stored"; })
      .def("__repr__", [](const PyStoreResult& result) {
        return "StoreResult(status='" + result.status + "', cas=" + std::to_string(result.cas) +
               ")";
      });
  nb::class_<PyCounter>(module, "Counter", "The outcome of arithmetic.")
      .def_ro("value", &PyCounter::value)
      .def_ro("cas", &PyCounter::cas)
      .def_ro("ttl", &PyCounter::ttl, "Seconds left; -1 if it never expires.")
      .def_ro("opaque", &PyCounter::opaque)
      .def("__repr__", [](const PyCounter& counter) {
        return "Counter(value=" + std::to_string(counter.value) +
               ", cas=" + std::to_string(counter.cas) + ", ttl=" + std::to_string(counter.ttl) +
               ")";
      });

  client
      .def("get_item", &get_item, "key"_a, nb::kw_only(), "touch"_a = nb::none(),
           "vivify"_a = nb::none(), "recache"_a = nb::none(), "opaque"_a = nb::none(),
           "A MetaItem (value, flags, cas, ttl, last_access, hit_before, stale, won, "
           "already_won, opaque), or None on a miss. touch: new ttl on a hit; vivify: on a "
           "miss create a placeholder with this ttl and win it; recache: win the recompute "
           "if fewer seconds than this are left. Needs the meta protocol.")
      .def("get_or_lease", &get_or_lease, "key"_a, "lease_ttl"_a, "recache_ttl"_a = 0,
           "A Lease: the item to use (fresh, or stale while another caller recomputes it; "
           "None on a miss) and must_recompute, true for the one caller that must compute "
           "the value and set it. Needs the meta protocol.")
      .def("store", &store, "key"_a, "value"_a, nb::kw_only(), "ttl"_a = 0, "mode"_a = "set",
           "cas"_a = nb::none(), "invalidate"_a = false, "opaque"_a = nb::none(),
           "Stores and returns a StoreResult (status, stored, cas: the new cas). mode: set, "
           "add, replace, append or prepend; cas: store only if unchanged; invalidate: with "
           "cas, accept an older one and store the item stale. Needs the meta protocol.")
      .def(
          "invalidate",
          [](NativeClient& self, nb::handle key, std::int64_t ttl) {
            const std::string_view key_bytes = key_view(key.ptr());
            Result<bool> invalidated =
                without_gil([&] { return self.client.invalidate(key_bytes, ttl); });
            return value_or_raise(self, invalidated);
          },
          "key"_a, "ttl"_a = 0,
          "Marks the item stale instead of deleting it: readers still get it, flagged stale, "
          "and one of them wins the recompute. True if it existed. Needs the meta protocol.")
      .def("arithmetic", &arithmetic, "key"_a, "delta"_a = 1, nb::kw_only(), "decrement"_a = false,
           "initial"_a = nb::none(), "ttl"_a = 0, "cas"_a = nb::none(), "opaque"_a = nb::none(),
           "incr (or decr) returning a Counter (value, cas, ttl), or None on a miss or a cas "
           "mismatch; initial: create a missing counter with this value and ttl. Needs the "
           "meta protocol.");
}

}  // namespace fastmc::python
