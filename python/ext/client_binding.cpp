// SPDX-License-Identifier: MIT
// fastmc._native.Client: arguments in, results out. The GIL is released for
// every call into the core (all network waits happen there) and taken back
// before any Python object is built; values are built from the reply views
// while the fetched items still hold their connections.
#include "client_binding.hpp"

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <fastmc/client.hpp>

#include "error_binding.hpp"
#include "value_objects.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace fastmc::python {
namespace {

std::chrono::milliseconds to_milliseconds(double seconds, const char* name) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) {
    raise_error(Errc::invalid_argument, std::string(name) + " must be a finite number >= 0");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000)));
}

// A sequence of keys held as a tuple (so another thread cannot free them
// while the GIL is released) with their byte views.
struct KeyList {
  explicit KeyList(nb::handle keys) : tuple(nb::steal(PySequence_Tuple(keys.ptr()))) {
    if (!tuple.is_valid()) throw nb::python_error();
    const Py_ssize_t count = PyTuple_GET_SIZE(tuple.ptr());
    views.reserve(static_cast<std::size_t>(count));
    for (Py_ssize_t i = 0; i < count; ++i)
      views.push_back(key_view(PyTuple_GET_ITEM(tuple.ptr(), i)));
  }
  PyObject* key(std::size_t index) const {
    return PyTuple_GET_ITEM(tuple.ptr(), static_cast<Py_ssize_t>(index));
  }

  nb::object tuple;
  std::vector<std::string_view> views;
};

std::uint64_t to_delta(nb::handle delta) {
  if (!PyLong_Check(delta.ptr())) throw nb::type_error("delta must be an int");
  const unsigned long long value = PyLong_AsUnsignedLongLong(delta.ptr());
  if (value == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    raise_error(Errc::invalid_argument, "delta must be an int from 0 to 2**64-1");
  }
  return value;
}

// "123" -> int, "1.5" -> float, anything else stays str (memcached's stats
// are text; numbers are what callers compare).
nb::object stat_value(const std::string& text) {
  if (!text.empty()) {
    char* end = nullptr;
    PyObject* number = PyLong_FromString(text.c_str(), &end, 10);
    if (number != nullptr && *end == '\0') return nb::steal(number);
    Py_XDECREF(number);
    PyErr_Clear();
    if (text.find('.') != std::string::npos) {
      PyObject* real = PyFloat_FromString(nb::str(text.c_str()).ptr());
      if (real != nullptr) return nb::steal(real);
      PyErr_Clear();
    }
  }
  return nb::str(text.c_str(), text.size());
}

nb::object fetch_one(NativeClient& self, nb::handle key, nb::handle default_value,
                     FetchOptions options, bool with_cas) {
  const std::string_view view = key_view(key.ptr());
  BytesStorage storage;  // declared first: destroyed last, with the GIL held
  options.storage = &storage;
  Result<FetchedItems> fetched = without_gil([&] { return self.client.fetch(view, options); });
  FetchedItems& items = value_or_raise(fetched);
  if (items.empty()) {
    if (with_cas) return nb::make_tuple(default_value, nb::none());
    return nb::borrow(default_value);
  }
  const ItemView item = items[0];
  nb::object value = decode_value(key.ptr(), item, self.serde, &storage);
  if (with_cas) return nb::make_tuple(value, item.cas);
  return value;
}

nb::dict fetch_many(NativeClient& self, nb::handle keys, bool with_cas) {
  KeyList list(keys);
  BytesStorage storage;
  const FetchOptions options{.with_cas = with_cas, .storage = &storage};
  Result<FetchedItems> fetched =
      without_gil([&] { return self.client.fetch(list.views, options); });
  FetchedItems& items = value_or_raise(fetched);
  // Sized once for every hit: growing a dict key by key rehashes it several
  // times, a third of the cost of building it.
  nb::dict result = nb::steal<nb::dict>(_PyDict_NewPresized(static_cast<Py_ssize_t>(items.size())));
  if (!result.is_valid()) throw nb::python_error();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const ItemView item = items[i];
    PyObject* key = list.key(item.key_index);
    nb::object value = decode_value(key, item, self.serde, &storage);
    if (with_cas) value = nb::make_tuple(value, item.cas);
    if (PyDict_SetItem(result.ptr(), key, value.ptr()) != 0) throw nb::python_error();
  }
  return result;
}

using StoreCall = Result<bool> (Client::*)(std::string_view, std::string_view, StoreOptions);

template <StoreCall call>
bool store(NativeClient& self, nb::handle key, nb::handle value, std::int64_t ttl) {
  const std::string_view key_bytes = key_view(key.ptr());
  EncodedValue encoded;
  encode_value(key.ptr(), value.ptr(), self.serde, encoded);
  const StoreOptions options{.ttl = ttl, .flags = encoded.flags};
  Result<bool> stored =
      without_gil([&] { return (self.client.*call)(key_bytes, encoded.bytes, options); });
  return value_or_raise(stored);
}

nb::object cas(NativeClient& self, nb::handle key, nb::handle value, std::uint64_t cas_token,
               std::int64_t ttl) {
  const std::string_view key_bytes = key_view(key.ptr());
  EncodedValue encoded;
  encode_value(key.ptr(), value.ptr(), self.serde, encoded);
  const StoreOptions options{.ttl = ttl, .flags = encoded.flags};
  Result<CasOutcome> outcome =
      without_gil([&] { return self.client.cas(key_bytes, encoded.bytes, cas_token, options); });
  switch (value_or_raise(outcome)) {
    case CasOutcome::stored: return nb::borrow(Py_True);
    case CasOutcome::exists: return nb::borrow(Py_False);
    case CasOutcome::not_found: return nb::none();
  }
  return nb::none();
}

nb::list set_many(NativeClient& self, nb::handle mapping, std::int64_t ttl) {
  nb::object items = nb::steal(PySequence_List(nb::handle(mapping).attr("items")().ptr()));
  if (!items.is_valid()) throw nb::python_error();
  const auto count = static_cast<std::size_t>(PyList_GET_SIZE(items.ptr()));
  std::unique_ptr<EncodedValue[]> values(new EncodedValue[count]);
  std::vector<Entry> entries;
  entries.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    PyObject* pair = PyList_GET_ITEM(items.ptr(), static_cast<Py_ssize_t>(i));
    PyObject* key = PyTuple_GET_ITEM(pair, 0);
    encode_value(key, PyTuple_GET_ITEM(pair, 1), self.serde, values[i]);
    entries.push_back(
        Entry{key_view(key), values[i].bytes, {.ttl = ttl, .flags = values[i].flags}});
  }
  Result<std::vector<std::size_t>> failed =
      without_gil([&] { return self.client.set_many(entries); });
  nb::list result;
  for (const std::size_t index : value_or_raise(failed)) {
    result.append(nb::handle(
        PyTuple_GET_ITEM(PyList_GET_ITEM(items.ptr(), static_cast<Py_ssize_t>(index)), 0)));
  }
  return result;
}

nb::object arithmetic(NativeClient& self, nb::handle key, nb::handle delta, bool increment,
                      nb::handle initial, std::int64_t ttl) {
  const std::string_view key_bytes = key_view(key.ptr());
  const std::uint64_t amount = to_delta(delta);
  if (!initial.is_none()) {
    // Auto-create: the meta call (ma N J), which knows no miss.
    const ArithmeticOptions options{
        .decrement = !increment, .delta = amount, .initial = to_delta(initial), .ttl = ttl};
    Result<std::optional<Counter>> counter =
        without_gil([&] { return self.client.arithmetic(key_bytes, options); });
    const std::optional<Counter>& created = value_or_raise(counter);
    if (!created) return nb::none();
    return nb::steal(PyLong_FromUnsignedLongLong(created->value));
  }
  Result<std::optional<std::uint64_t>> value = without_gil([&] {
    return increment ? self.client.incr(key_bytes, amount) : self.client.decr(key_bytes, amount);
  });
  const std::optional<std::uint64_t>& number = value_or_raise(value);
  if (!number) return nb::none();
  return nb::steal(PyLong_FromUnsignedLongLong(*number));
}

}  // namespace

void register_client(nb::module_& module) {
  nb::class_<NativeClient> client(
      module, "Client", "The native memcached client; use fastmc.Client, which derives from it.");
  register_meta_calls(module, client);
  client
      .def(
          "__init__",
          [](NativeClient* self, std::vector<std::string> servers, double timeout,
             double connect_timeout, nb::object serde, std::size_t max_value_size,
             std::size_t max_connections_per_server, std::size_t max_idle_connections_per_server,
             bool tcp_nodelay, bool allow_non_ascii_keys, std::string protocol,
             std::string distribution, std::string hash, std::uint32_t failure_limit,
             double retry_timeout, double dead_timeout, std::string dead_server_policy,
             bool miss_on_error, std::string configuration_endpoint, double discovery_interval,
             bool discovery_use_ip, bool digest_long_keys) {
            ClientOptions options{
                .servers = std::move(servers),
                .configuration_endpoint = std::move(configuration_endpoint),
                .discovery_interval = to_milliseconds(discovery_interval, "discovery_interval"),
                .discovery_use_ip = discovery_use_ip,
                .distribution = std::move(distribution),
                .hash = std::move(hash),
                .connect_timeout = to_milliseconds(connect_timeout, "connect_timeout"),
                .timeout = to_milliseconds(timeout, "timeout"),
                .max_value_size = max_value_size,
                .max_connections_per_server = max_connections_per_server,
                .max_idle_connections_per_server = max_idle_connections_per_server,
                .tcp_nodelay = tcp_nodelay,
                .allow_non_ascii_keys = allow_non_ascii_keys,
                .failure_limit = failure_limit,
                .retry_timeout = to_milliseconds(retry_timeout, "retry_timeout"),
                .dead_timeout = to_milliseconds(dead_timeout, "dead_timeout"),
                .dead_server_policy = std::move(dead_server_policy),
                .miss_on_error = miss_on_error,
                .protocol = std::move(protocol),
                .digest_long_keys = digest_long_keys,
            };
            // With a configuration endpoint, construction asks it for the servers.
            Client client = without_gil([&] { return Client(std::move(options)); });
            new (self) NativeClient(std::move(client), std::move(serde));
          },
          "servers"_a, "timeout"_a = 1.0, "connect_timeout"_a = 1.0, "serde"_a = nb::none(),
          "max_value_size"_a = 64 * 1024 * 1024, "max_connections_per_server"_a = 0,
          "max_idle_connections_per_server"_a = 8, "tcp_nodelay"_a = true,
          "allow_non_ascii_keys"_a = true, "protocol"_a = "meta", "distribution"_a = "modula",
          "hash"_a = "", "failure_limit"_a = 2, "retry_timeout"_a = 1.0, "dead_timeout"_a = 0.0,
          "dead_server_policy"_a = "error", "miss_on_error"_a = false,
          "configuration_endpoint"_a = "", "discovery_interval"_a = 60.0,
          "discovery_use_ip"_a = true, "digest_long_keys"_a = false)
      .def_rw("serde", &NativeClient::serde)
      .def_prop_ro("servers", [](NativeClient& self) { return self.client.servers(); })
      .def_prop_ro("discovered_config_version",
                   [](NativeClient& self) { return self.client.discovered_config_version(); })
      .def_prop_ro("discovery_failure_count",
                   [](NativeClient& self) { return self.client.discovery_failure_count(); })
      .def_prop_ro("discovery_last_error",
                   [](NativeClient& self) { return self.client.discovery_last_error(); })
      .def(
          "set_servers",
          [](NativeClient& self, std::vector<std::string> servers) {
            nb::gil_scoped_release release;  // waits only for other list changes
            self.client.set_servers(servers);
          },
          "servers"_a)
      .def(
          "server_for_key",
          [](NativeClient& self, nb::handle key) {
            Result<std::string> server = self.client.server_for_key(key_view(key.ptr()));
            return value_or_raise(server);
          },
          "key"_a)
      .def(
          "get",
          [](NativeClient& self, nb::handle key, nb::handle default_value) {
            return fetch_one(self, key, default_value, {}, false);
          },
          "key"_a, "default"_a = nb::none())
      .def(
          "gets",
          [](NativeClient& self, nb::handle key, nb::handle default_value) {
            return fetch_one(self, key, default_value, {.with_cas = true}, true);
          },
          "key"_a, "default"_a = nb::none())
      .def(
          "gat",
          [](NativeClient& self, nb::handle key, std::int64_t ttl, nb::handle default_value) {
            return fetch_one(self, key, default_value, {.touch = true, .ttl = ttl}, false);
          },
          "key"_a, "ttl"_a, "default"_a = nb::none())
      .def(
          "gats",
          [](NativeClient& self, nb::handle key, std::int64_t ttl, nb::handle default_value) {
            return fetch_one(self, key, default_value,
                             {.with_cas = true, .touch = true, .ttl = ttl}, true);
          },
          "key"_a, "ttl"_a, "default"_a = nb::none())
      .def(
          "get_many",
          [](NativeClient& self, nb::handle keys) { return fetch_many(self, keys, false); },
          "keys"_a)
      .def(
          "gets_many",
          [](NativeClient& self, nb::handle keys) { return fetch_many(self, keys, true); },
          "keys"_a)
      .def("set", &store<&Client::set>, "key"_a, "value"_a, "ttl"_a = 0)
      .def("add", &store<&Client::add>, "key"_a, "value"_a, "ttl"_a = 0)
      .def("replace", &store<&Client::replace>, "key"_a, "value"_a, "ttl"_a = 0)
      .def("append", &store<&Client::append>, "key"_a, "value"_a, "ttl"_a = 0)
      .def("prepend", &store<&Client::prepend>, "key"_a, "value"_a, "ttl"_a = 0)
      .def("cas", &cas, "key"_a, "value"_a, "cas"_a, "ttl"_a = 0)
      .def("set_many", &set_many, "mapping"_a, "ttl"_a = 0)
      .def(
          "delete",
          [](NativeClient& self, nb::handle key) {
            const std::string_view key_bytes = key_view(key.ptr());
            Result<bool> deleted = without_gil([&] { return self.client.remove(key_bytes); });
            return value_or_raise(deleted);
          },
          "key"_a)
      .def(
          "delete_many",
          [](NativeClient& self, nb::handle keys) {
            KeyList list(keys);
            Result<std::size_t> deleted =
                without_gil([&] { return self.client.remove_many(list.views); });
            return value_or_raise(deleted);
          },
          "keys"_a)
      .def(
          "incr",
          [](NativeClient& self, nb::handle key, nb::handle delta, nb::handle initial,
             std::int64_t ttl) { return arithmetic(self, key, delta, true, initial, ttl); },
          "key"_a, "delta"_a = 1, nb::kw_only(), "initial"_a = nb::none(), "ttl"_a = 0,
          "The new value, or None on a miss; with initial (meta protocol only), a missing "
          "counter is created with that value and ttl instead.")
      .def(
          "decr",
          [](NativeClient& self, nb::handle key, nb::handle delta, nb::handle initial,
             std::int64_t ttl) { return arithmetic(self, key, delta, false, initial, ttl); },
          "key"_a, "delta"_a = 1, nb::kw_only(), "initial"_a = nb::none(), "ttl"_a = 0,
          "The new value, or None on a miss; with initial (meta protocol only), a missing "
          "counter is created with that value and ttl instead.")
      .def(
          "touch",
          [](NativeClient& self, nb::handle key, std::int64_t ttl) {
            const std::string_view key_bytes = key_view(key.ptr());
            Result<bool> touched = without_gil([&] { return self.client.touch(key_bytes, ttl); });
            return value_or_raise(touched);
          },
          "key"_a, "ttl"_a)
      .def(
          "flush_all",
          [](NativeClient& self, std::uint32_t delay) {
            Result<Done> done = without_gil([&] { return self.client.flush_all(delay); });
            value_or_raise(done);
          },
          "delay"_a = 0)
      .def("stats",
           [](NativeClient& self, nb::args arguments) {
             std::vector<std::string> words;
             for (nb::handle argument : arguments)
               words.push_back(nb::cast<std::string>(nb::str(argument)));
             std::vector<std::string_view> views(words.begin(), words.end());
             auto replies = without_gil([&] { return self.client.stats(views); });
             nb::dict result;
             for (auto& reply : replies) {
               Stats& stats = value_or_raise(reply.reply);
               nb::dict server;
               for (const auto& [name, text] : stats)
                 server[nb::str(name.c_str())] = stat_value(text);
               result[nb::str(reply.server.c_str())] = server;
             }
             return result;
           })
      .def("version",
           [](NativeClient& self) {
             auto replies = without_gil([&] { return self.client.version(); });
             nb::dict result;
             for (auto& reply : replies) {
               result[nb::str(reply.server.c_str())] = nb::str(value_or_raise(reply.reply).c_str());
             }
             return result;
           })
      .def("close", [](NativeClient& self) {
        without_gil([&] {
          self.client.close();
          return 0;
        });
      });
}

}  // namespace fastmc::python
