// SPDX-License-Identifier: MIT
// fastmc._native.Client: arguments in, results out. The GIL is released for
// every call into the core (all network waits happen there) and taken back
// before any Python object is built; values are built from the reply views
// while the fetched items still hold their connections.
#include "client_binding.hpp"

#include <algorithm>
#include <array>
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
#include "ssl_context_binding.hpp"
#include "value/value_splitter.hpp"
#include "value_objects.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace fastmc::python {
namespace {

// noreply, as the peers mean it: the server's answer to the request is not
// reported (a refusal included), but a failure to reach the server is. The
// core sends it fire and forget where an `mn` can fence it, and otherwise
// awaits the answer and drops it (StoreOptions::noreply); either way the
// connection stays in step. What a noreply call still gets back as an error
// is a failure to reach the server, or a refusal made before sending (a
// value over max_value_size, which a peer would send and see refused
// silently: not reported either).
bool is_server_answer(Errc code) noexcept {
  return code == Errc::server_error || code == Errc::client_error || code == Errc::value_too_large;
}

template <class T>
void raise_unless_answer(const NativeClient& self, Result<T>& result) {
  if (!result && !is_server_answer(result.error().code)) {
    raise_error(result.error(), self.codec.error_classes);
  }
}

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
  [[nodiscard]] PyObject* key(std::size_t index) const {
    return PyTuple_GET_ITEM(tuple.ptr(), static_cast<Py_ssize_t>(index));
  }

  nb::object tuple;
  std::vector<std::string_view> views;
};

// A delta out of range raises the client's class for invalid_argument (a
// compat module's, from its error_classes).
std::uint64_t to_delta(const NativeClient& self, nb::handle delta) {
  if (!PyLong_Check(delta.ptr())) throw nb::type_error("delta must be an int");
  const unsigned long long value = PyLong_AsUnsignedLongLong(delta.ptr());
  if (value == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    raise_error(Error{Errc::invalid_argument, {}, "delta must be an int from 0 to 2**64-1"},
                self.codec.error_classes);
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

// libmc's split values (value/value_splitter.hpp) -------------------------

// A chunk index read by a fetch, copied out so that the fetch's connections
// can go back to their pools before the chunks are fetched.
struct ChunkIndex {
  nb::object key;
  std::string key_bytes;
  std::string count;
  std::uint32_t flags = 0;
  std::uint64_t cas = 0;
};

// The value a chunk index stands for, or nullopt (a miss, as libmc reads
// it) when a chunk is missing or the index is not one libmc writes.
std::optional<nb::object> join_chunks(NativeClient& self, const ChunkIndex& index) {
  const std::optional<std::size_t> count = value::parse_chunk_count(index.count);
  if (!count) return std::nullopt;
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < *count; ++i) keys.push_back(value::chunk_key(index.key_bytes, i));
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<std::optional<std::string>> chunks(*count);
  Result<FetchedItems> fetched = without_gil([&]() -> Result<FetchedItems> {
    Result<FetchedItems> items = self.client.fetch(views);
    if (items) {
      for (std::size_t i = 0; i < items->size(); ++i) {
        const ItemView item = (*items)[i];
        chunks[item.key_index] = std::string(item.value);
      }
    }
    return items;
  });
  value_or_raise(self, fetched);
  value::ReassembleResult joined = value::reassemble(index.count, chunks);
  if (joined.error != value::ReassembleError::none) return std::nullopt;
  const ItemView whole{.key = index.key_bytes,
                       .value = joined.value,
                       .flags = index.flags & ~self.codec.scheme->chunked,
                       .cas = index.cas};
  return decode_value(index.key.ptr(), whole, self.codec);
}

ChunkIndex chunk_index_of(PyObject* key, const ItemView& item) {
  return {nb::borrow(key), std::string(item.key), std::string(item.value), item.flags, item.cas};
}

// Stores a value too big for one item as libmc does: the chunks first, then
// the index. false when any part was not stored.
bool store_split(NativeClient& self, std::string_view key, const EncodedValue& encoded,
                 std::int64_t ttl) {
  const std::optional<value::SplitPlan> plan =
      value::plan_split(key, encoded.bytes.size(), encoded.flags);
  std::vector<Entry> entries;
  for (const value::ChunkPlan& chunk : plan->chunks) {
    entries.push_back(Entry{chunk.key,
                            encoded.bytes.substr(chunk.offset, chunk.size),
                            {.ttl = ttl, .flags = encoded.flags}});
  }
  Result<bool> stored = without_gil([&]() -> Result<bool> {
    Result<std::vector<std::size_t>> failed = self.client.set_many(entries);
    if (!failed) return failed.error();
    if (!failed->empty()) return false;
    return self.client.set(key, plan->index_value, {.ttl = ttl, .flags = plan->index_flags});
  });
  return value_or_raise(self, stored);
}

bool is_split(const NativeClient& self, std::string_view key, const EncodedValue& encoded) {
  return self.codec.split_values && value::is_split(key, encoded.bytes.size());
}

// Reads ------------------------------------------------------------------------

nb::object fetch_one(NativeClient& self, nb::handle key, nb::handle default_value,
                     FetchOptions options, bool with_cas) {
  const std::string_view view = key_view(key.ptr());
  std::optional<ChunkIndex> chunk_index;
  nb::object value;
  std::uint64_t cas = 0;
  {
    BytesStorage storage;  // declared first: destroyed last, with the GIL held
    options.storage = &storage;
    Result<FetchedItems> fetched = without_gil([&] { return self.client.fetch(view, options); });
    FetchedItems& items = value_or_raise(self, fetched);
    if (items.empty()) {
      if (with_cas) return nb::make_tuple(default_value, nb::none());
      return nb::borrow(default_value);
    }
    const ItemView item = items[0];
    cas = item.cas;
    if (is_chunk_index(item, self.codec)) {
      chunk_index = chunk_index_of(key.ptr(), item);
    } else {
      value = decode_value(key.ptr(), item, self.codec, &storage);
    }
  }
  if (chunk_index) {
    std::optional<nb::object> joined = join_chunks(self, *chunk_index);
    if (!joined) {
      if (with_cas) return nb::make_tuple(default_value, nb::none());
      return nb::borrow(default_value);
    }
    value = std::move(*joined);
  }
  if (with_cas) return nb::make_tuple(value, cas);
  return value;
}

nb::dict fetch_many(NativeClient& self, nb::handle keys, bool with_cas) {
  KeyList list(keys);
  std::vector<ChunkIndex> chunk_indexes;
  nb::dict result;
  {
    BytesStorage storage;
    const FetchOptions options{.with_cas = with_cas, .storage = &storage};
    Result<FetchedItems> fetched =
        without_gil([&] { return self.client.fetch(list.views, options); });
    FetchedItems& items = value_or_raise(self, fetched);
    // Sized once for every hit: growing a dict key by key rehashes it several
    // times, a third of the cost of building it.
    result = nb::steal<nb::dict>(_PyDict_NewPresized(static_cast<Py_ssize_t>(items.size())));
    if (!result.is_valid()) throw nb::python_error();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const ItemView item = items[i];
      PyObject* key = list.key(item.key_index);
      if (is_chunk_index(item, self.codec)) {
        chunk_indexes.push_back(chunk_index_of(key, item));
        continue;
      }
      nb::object value = decode_value(key, item, self.codec, &storage);
      if (with_cas) value = nb::make_tuple(value, item.cas);
      if (PyDict_SetItem(result.ptr(), key, value.ptr()) != 0) throw nb::python_error();
    }
  }
  for (const ChunkIndex& index : chunk_indexes) {
    std::optional<nb::object> value = join_chunks(self, index);
    if (!value) continue;
    if (with_cas) *value = nb::make_tuple(*value, index.cas);
    if (PyDict_SetItem(result.ptr(), index.key.ptr(), value->ptr()) != 0) throw nb::python_error();
  }
  return result;
}

// Writes -----------------------------------------------------------------------

using StoreCall = Result<bool> (Client::*)(std::string_view, std::string_view, StoreOptions);

template <StoreCall call>
bool store(NativeClient& self, nb::handle key, nb::handle value, std::int64_t ttl,
           long long min_compress_len, int compress_level, bool noreply) {
  const std::string_view key_bytes = key_view(key.ptr());
  EncodedValue encoded;
  encode_value(key.ptr(), value.ptr(), self.codec, encoded,
               {.threshold = min_compress_len, .level = compress_level});
  // Only set splits, as libmc: chunks and an index cannot be stored on the
  // condition add or replace puts on the key, so those send the whole value
  // (and the server refuses it as too large).
  if (call == &Client::set && is_split(self, key_bytes, encoded)) {
    return store_split(self, key_bytes, encoded, ttl);
  }
  const StoreOptions options{.ttl = ttl, .flags = encoded.flags, .noreply = noreply};
  Result<bool> stored =
      without_gil([&] { return (self.client.*call)(key_bytes, encoded.bytes, options); });
  if (noreply) {
    raise_unless_answer(self, stored);
    return true;
  }
  return value_or_raise(self, stored);
}

nb::object cas(NativeClient& self, nb::handle key, nb::handle value, std::uint64_t cas_token,
               std::int64_t ttl, bool noreply) {
  const std::string_view key_bytes = key_view(key.ptr());
  EncodedValue encoded;
  encode_value(key.ptr(), value.ptr(), self.codec, encoded);
  const StoreOptions options{.ttl = ttl, .flags = encoded.flags, .noreply = noreply};
  Result<CasOutcome> outcome =
      without_gil([&] { return self.client.cas(key_bytes, encoded.bytes, cas_token, options); });
  if (noreply) {
    raise_unless_answer(self, outcome);
    return nb::borrow(Py_True);
  }
  switch (value_or_raise(self, outcome)) {
    case CasOutcome::stored: return nb::borrow(Py_True);
    case CasOutcome::exists: return nb::borrow(Py_False);
    case CasOutcome::not_found: return nb::none();
  }
  return nb::none();
}

nb::list set_many(NativeClient& self, nb::handle mapping, std::int64_t ttl,
                  long long min_compress_len, int compress_level, bool noreply) {
  nb::object items = nb::steal(PySequence_List(nb::handle(mapping).attr("items")().ptr()));
  if (!items.is_valid()) throw nb::python_error();
  const auto count = static_cast<std::size_t>(PyList_GET_SIZE(items.ptr()));
  const auto key_at = [&](std::size_t index) {
    PyObject* pair = PyList_GET_ITEM(items.ptr(), static_cast<Py_ssize_t>(index));
    if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
      throw nb::type_error("set_many needs a mapping: items() must give (key, value) pairs");
    }
    return pair;
  };
  std::vector<EncodedValue> values(count);
  std::vector<Entry> entries;
  std::vector<std::size_t> positions;  // entries[i] is item positions[i]
  std::vector<std::size_t> split;      // items stored as libmc's chunks
  entries.reserve(count);
  positions.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    PyObject* pair = key_at(i);
    PyObject* key = PyTuple_GET_ITEM(pair, 0);
    const std::string_view key_bytes = key_view(key);
    encode_value(key, PyTuple_GET_ITEM(pair, 1), self.codec, values[i],
                 {.threshold = min_compress_len, .level = compress_level});
    if (is_split(self, key_bytes, values[i])) {
      split.push_back(i);
      continue;
    }
    entries.push_back(Entry{key_bytes, values[i].bytes, {.ttl = ttl, .flags = values[i].flags}});
    positions.push_back(i);
  }
  std::vector<std::size_t> failed_items;
  if (!entries.empty()) {
    Result<std::vector<std::size_t>> failed =
        without_gil([&] { return self.client.set_many(entries, {.noreply = noreply}); });
    if (noreply) {
      raise_unless_answer(self, failed);
    } else {
      for (const std::size_t index : value_or_raise(self, failed))
        failed_items.push_back(positions[index]);
    }
  }
  for (const std::size_t index : split) {
    PyObject* key = PyTuple_GET_ITEM(key_at(index), 0);
    if (!store_split(self, key_view(key), values[index], ttl) && !noreply) {
      failed_items.push_back(index);
    }
  }
  std::sort(failed_items.begin(), failed_items.end());
  nb::list result;
  for (const std::size_t index : failed_items)
    result.append(nb::handle(PyTuple_GET_ITEM(key_at(index), 0)));
  return result;
}

// The raw bytes and flags of an item (libmc's get_raw), or None on a miss.
nb::object get_raw(NativeClient& self, nb::handle key) {
  const std::string_view view = key_view(key.ptr());
  Result<std::optional<Item>> item = without_gil([&] { return self.client.get(view); });
  const std::optional<Item>& hit = value_or_raise(self, item);
  if (!hit) return nb::none();
  return nb::make_tuple(nb::bytes(hit->value.data(), hit->value.size()), hit->flags);
}

bool set_raw(NativeClient& self, nb::handle key, const nb::bytes& value, std::uint32_t flags,
             std::int64_t ttl) {
  const std::string_view key_bytes = key_view(key.ptr());
  const std::string_view bytes(value.c_str(), value.size());
  Result<bool> stored =
      without_gil([&] { return self.client.set(key_bytes, bytes, {.ttl = ttl, .flags = flags}); });
  return value_or_raise(self, stored);
}

// The constructor's default max_value_size (also what a client-free decode may inflate to).
constexpr std::size_t kDefaultMaxValueSize = std::size_t{64} * 1024 * 1024;

// The codec for a `value_scheme` name and the compression settings, each
// scheme with its peer's compression rule (value/compression.hpp).
ValueCodec make_codec(const std::string& scheme, nb::object serde, long long compress_threshold,
                      int compress_level, std::optional<int> pickle_protocol, bool split_values,
                      nb::object error_classes, std::size_t max_value_size) {
  struct Known {
    const char* name;
    value::Peer peer;
    value::CompressionRule rule;
    int pickle_protocol;  // the peer's default; -1 is pickle.HIGHEST_PROTOCOL
  };
  using value::CompressionRule;
  using value::Peer;
  static constexpr auto kKnown = std::to_array<Known>({
      {"native", Peer::native, CompressionRule::above_threshold_if_smaller, -1},
      {"pylibmc", Peer::pylibmc, CompressionRule::at_threshold_if_smaller, -1},
      {"python_memcached", Peer::python_memcached, CompressionRule::above_threshold_if_smaller, 0},
      {"pymemcache", Peer::pymemcache, CompressionRule::above_threshold_unless_larger, -1},
      {"pymemcache_default", Peer::pymemcache_default, CompressionRule::never, -1},
      {"libmc", Peer::libmc, CompressionRule::above_threshold_always, 2},
  });
  for (const Known& known : kKnown) {
    if (scheme != known.name) continue;
    if (compress_threshold < 0) {
      raise_error(Errc::invalid_argument, "compress_threshold must be >= 0");
    }
    if (compress_level < -1 || compress_level > 9) {
      raise_error(Errc::invalid_argument, "compress_level must be -1 (zlib's default) to 9");
    }
    if (known.peer == Peer::native && compress_threshold != 0) {
      raise_error(Errc::invalid_argument,
                  "compression needs a peer's value_scheme: the native scheme has no "
                  "compressed flag");
    }
    ValueCodec codec;
    codec.scheme = &value::flags_scheme(known.peer);
    codec.compression = {.rule = known.rule,
                         .threshold = static_cast<std::size_t>(compress_threshold),
                         .level = compress_level};
    codec.serde = std::move(serde);
    codec.pickle_protocol = pickle_protocol.value_or(known.pickle_protocol);
    codec.split_values = split_values;
    codec.error_classes = std::move(error_classes);
    codec.max_value_size = max_value_size;
    return codec;
  }
  raise_error(Errc::invalid_argument,
              "unknown value_scheme \"" + scheme +
                  "\" (native, pylibmc, python_memcached, pymemcache, pymemcache_default, libmc)");
}

nb::object arithmetic(NativeClient& self, nb::handle key, nb::handle delta, bool increment,
                      nb::handle initial, std::int64_t ttl, bool noreply) {
  const std::string_view key_bytes = key_view(key.ptr());
  const std::uint64_t amount = to_delta(self, delta);
  if (!initial.is_none()) {
    // Auto-create: the meta call (ma N J), which knows no miss.
    const ArithmeticOptions options{
        .decrement = !increment, .delta = amount, .initial = to_delta(self, initial), .ttl = ttl};
    Result<std::optional<Counter>> counter =
        without_gil([&] { return self.client.arithmetic(key_bytes, options); });
    const std::optional<Counter>& created = value_or_raise(self, counter);
    if (!created) return nb::none();
    return nb::steal(PyLong_FromUnsignedLongLong(created->value));
  }
  Result<std::optional<std::uint64_t>> value = without_gil([&] {
    const WriteOptions write{.noreply = noreply};
    return increment ? self.client.incr(key_bytes, amount, write)
                     : self.client.decr(key_bytes, amount, write);
  });
  if (noreply) {
    raise_unless_answer(self, value);
    return nb::none();
  }
  const std::optional<std::uint64_t>& number = value_or_raise(self, value);
  if (!number) return nb::none();
  return nb::steal(PyLong_FromUnsignedLongLong(*number));
}

// Every option of the constructor, in one place for __init__ and _reconfigure.
NativeClient build_client(
    std::vector<std::string> servers, double timeout, double connect_timeout, nb::object serde,
    std::size_t max_value_size, std::size_t max_connections_per_server,
    std::size_t max_idle_connections_per_server, bool tcp_nodelay, bool allow_non_ascii_keys,
    std::string protocol, std::string distribution, std::string hash, std::uint32_t failure_limit,
    double retry_timeout, double dead_timeout, std::string dead_server_policy, bool miss_on_error,
    std::string configuration_endpoint, double discovery_interval, bool discovery_use_ip,
    const std::string& value_scheme, long long compress_threshold, int compress_level,
    std::optional<int> pickle_protocol, bool split_values, nb::object error_classes,
    nb::handle key_prefix, bool hash_key_prefix, std::string username, std::string password,
    bool tls, std::string tls_ca_file, std::string tls_ca_path, std::string tls_cert_file,
    std::string tls_key_file, bool tls_verify, std::string tls_server_name,
    std::string tls_min_version, std::string tls_ciphers, const nb::object& tls_context,
    bool digest_long_keys, bool pause_after_failure) {
  ValueCodec codec =
      make_codec(value_scheme, std::move(serde), compress_threshold, compress_level,
                 pickle_protocol, split_values, std::move(error_classes), max_value_size);
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
      .key_prefix = std::string(key_view(key_prefix.ptr())),
      .hash_key_prefix = hash_key_prefix,
      .failure_limit = failure_limit,
      .retry_timeout = to_milliseconds(retry_timeout, "retry_timeout"),
      .dead_timeout = to_milliseconds(dead_timeout, "dead_timeout"),
      .pause_after_failure = pause_after_failure,
      .dead_server_policy = std::move(dead_server_policy),
      .miss_on_error = miss_on_error,
      .protocol = std::move(protocol),
      .digest_long_keys = digest_long_keys,
      .username = std::move(username),
      .password = std::move(password),
      .tls =
          TlsOptions{
              .enabled = tls,
              .ca_file = std::move(tls_ca_file),
              .ca_path = std::move(tls_ca_path),
              .cert_file = std::move(tls_cert_file),
              .key_file = std::move(tls_key_file),
              .verify = tls_verify,
              .server_name = std::move(tls_server_name),
              .min_version = std::move(tls_min_version),
              .ciphers = std::move(tls_ciphers),
          },
  };
  if (!tls_context.is_none()) {
    // The client takes its own reference to the SSL_CTX.
    const SharedSslContext shared = shared_ssl_context(tls_context);
    options.tls.ssl_context = shared.ssl_ctx;
    options.tls.verify = shared.check_hostname;
  }
  // With a configuration endpoint, construction asks it for the servers.
  Client client = without_gil([&] { return Client(std::move(options)); });
  return {std::move(client), std::move(codec)};
}

template <class Signature>
struct ClientConstruction;

template <class... Options>
struct ClientConstruction<NativeClient(Options...)> {
  static void construct(NativeClient* self, Options... options) {
    new (self) NativeClient(build_client(std::move(options)...));
  }
  static void reconfigure(NativeClient& self, Options... options) {
    NativeClient rebuilt = build_client(std::move(options)...);
    self.client = std::move(rebuilt.client);
    self.codec = std::move(rebuilt.codec);
  }
};

constexpr auto& kConstructClient = ClientConstruction<decltype(build_client)>::construct;
constexpr auto& kReconfigureClient = ClientConstruction<decltype(build_client)>::reconfigure;

template <class Function>
void def_with_client_options(nb::class_<NativeClient>& client, const char* name,
                             Function* function) {
  client.def(
      name, function, "servers"_a, "timeout"_a = 1.0, "connect_timeout"_a = 1.0,
      "serde"_a = nb::none(), "max_value_size"_a = kDefaultMaxValueSize,
      "max_connections_per_server"_a = 0, "max_idle_connections_per_server"_a = 8,
      "tcp_nodelay"_a = true, "allow_non_ascii_keys"_a = true, "protocol"_a = "meta",
      "distribution"_a = "modula", "hash"_a = "", "failure_limit"_a = 2, "retry_timeout"_a = 1.0,
      "dead_timeout"_a = 0.0, "dead_server_policy"_a = "error", "miss_on_error"_a = false,
      "configuration_endpoint"_a = "", "discovery_interval"_a = 60.0, "discovery_use_ip"_a = true,
      "value_scheme"_a = "native", "compress_threshold"_a = 0, "compress_level"_a = -1,
      "pickle_protocol"_a = nb::none(), "split_values"_a = false, "error_classes"_a = nb::none(),
      "key_prefix"_a = "", "hash_key_prefix"_a = false, "username"_a = "", "password"_a = "",
      "tls"_a = false, "tls_ca_file"_a = "", "tls_ca_path"_a = "", "tls_cert_file"_a = "",
      "tls_key_file"_a = "", "tls_verify"_a = true, "tls_server_name"_a = "",
      "tls_min_version"_a = "1.2", "tls_ciphers"_a = "", "tls_context"_a = nb::none(),
      "digest_long_keys"_a = false, "pause_after_failure"_a = false);
}

// A value as `value_scheme` stores it, and back, with no client and no I/O
// (libmc's module functions encode_value and decode_value).
nb::tuple encode_with_scheme(nb::handle value, const std::string& value_scheme,
                             long long compress_threshold) {
  const ValueCodec codec = make_codec(value_scheme, nb::none(), compress_threshold, -1,
                                      std::nullopt, false, nb::none(), kDefaultMaxValueSize);
  EncodedValue encoded;
  encode_value(Py_None, value.ptr(), codec, encoded);
  return nb::make_tuple(nb::bytes(encoded.bytes.data(), encoded.bytes.size()), encoded.flags);
}

nb::object decode_with_scheme(const nb::bytes& data, std::uint32_t flags,
                              const std::string& value_scheme) {
  const ValueCodec codec = make_codec(value_scheme, nb::none(), 0, -1, std::nullopt, false,
                                      nb::none(), kDefaultMaxValueSize);
  const ItemView item{.key = {}, .value = {data.c_str(), data.size()}, .flags = flags, .cas = 0};
  return decode_value(Py_None, item, codec);
}

}  // namespace

void register_client(nb::module_& module) {
  module.def("encode_value", &encode_with_scheme, "value"_a.none(), "value_scheme"_a,
             "compress_threshold"_a = 0,
             "(bytes, flags) as the client stores `value` under `value_scheme`; no I/O.");
  module.def("decode_value", &decode_with_scheme, "data"_a, "flags"_a, "value_scheme"_a,
             "The value the client reads from `data` stored with `flags`; no I/O.");
  nb::class_<NativeClient> client(
      module, "Client", "The native memcached client; use fastmc.Client, which derives from it.");
  def_with_client_options(client, "__init__", &kConstructClient);
  // Not safe while other threads use the client (pylibmc's behaviors are
  // set the same way).
  def_with_client_options(client, "_reconfigure", &kReconfigureClient);
  register_meta_calls(module, client);
  client
      .def_prop_rw(
          "serde", [](NativeClient& self) { return self.codec.serde; },
          [](NativeClient& self, nb::object serde) { self.codec.serde = std::move(serde); })
      .def_prop_ro("servers", [](NativeClient& self) { return self.client.servers(); })
      .def_prop_ro("discovered_config_version",
                   [](NativeClient& self) { return self.client.discovered_config_version(); })
      .def_prop_ro("discovery_failure_count",
                   [](NativeClient& self) { return self.client.discovery_failure_count(); })
      .def_prop_ro("discovery_last_error",
                   [](NativeClient& self) { return self.client.discovery_last_error(); })
      .def(
          "set_servers",
          [](NativeClient& self, const std::vector<std::string>& servers) {
            nb::gil_scoped_release release;  // waits only for other list changes
            self.client.set_servers(servers);
          },
          "servers"_a)
      .def(
          "server_for_key",
          [](NativeClient& self, nb::handle key, bool live) -> nb::object {
            const std::string_view view = key_view(key.ptr());
            if (live) {
              Result<std::optional<std::string>> server = self.client.live_server_for_key(view);
              const std::optional<std::string>& name = value_or_raise(self, server);
              if (!name) return nb::none();
              return nb::str(name->c_str(), name->size());
            }
            Result<std::string> server = self.client.server_for_key(view);
            const std::string& name = value_or_raise(self, server);
            return nb::str(name.c_str(), name.size());
          },
          "key"_a, "live"_a = false)
      // For compat modules whose peer places some keys by other bytes than
      // the key's (pymemcache's HashClient: a bytes key by its repr).
      .def(
          "_server_for_routing_key",
          [](NativeClient& self, const nb::bytes& routing_key,
             bool live) -> std::optional<std::string> {
            return self.client.server_for_routing_key({routing_key.c_str(), routing_key.size()},
                                                      live);
          },
          "routing_key"_a, "live"_a = false)
      .def(
          "_record_server_outcome",
          [](NativeClient& self, const std::string& server, bool succeeded) {
            return self.client.record_server_outcome(server, succeeded);
          },
          "server"_a, "succeeded"_a)
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
      .def("set", &store<&Client::set>, "key"_a, "value"_a.none(), "ttl"_a = 0,
           "min_compress_len"_a = -1, "compress_level"_a = -2, "noreply"_a = false)
      .def("add", &store<&Client::add>, "key"_a, "value"_a.none(), "ttl"_a = 0,
           "min_compress_len"_a = -1, "compress_level"_a = -2, "noreply"_a = false)
      .def("replace", &store<&Client::replace>, "key"_a, "value"_a.none(), "ttl"_a = 0,
           "min_compress_len"_a = -1, "compress_level"_a = -2, "noreply"_a = false)
      .def("append", &store<&Client::append>, "key"_a, "value"_a.none(), "ttl"_a = 0,
           "min_compress_len"_a = -1, "compress_level"_a = -2, "noreply"_a = false)
      .def("prepend", &store<&Client::prepend>, "key"_a, "value"_a.none(), "ttl"_a = 0,
           "min_compress_len"_a = -1, "compress_level"_a = -2, "noreply"_a = false)
      .def("cas", &cas, "key"_a, "value"_a.none(), "cas"_a, "ttl"_a = 0, "noreply"_a = false)
      .def("set_many", &set_many, "mapping"_a, "ttl"_a = 0, "min_compress_len"_a = -1,
           "compress_level"_a = -2, "noreply"_a = false)
      .def("get_raw", &get_raw, "key"_a)
      .def("set_raw", &set_raw, "key"_a, "value"_a, "flags"_a, "ttl"_a = 0)
      .def(
          "delete",
          [](NativeClient& self, nb::handle key, bool noreply) {
            const std::string_view key_bytes = key_view(key.ptr());
            Result<bool> deleted =
                without_gil([&] { return self.client.remove(key_bytes, {.noreply = noreply}); });
            if (!noreply) return value_or_raise(self, deleted);
            raise_unless_answer(self, deleted);
            return true;
          },
          "key"_a, "noreply"_a = false)
      .def(
          "delete_many",
          [](NativeClient& self, nb::handle keys, bool noreply) {
            KeyList list(keys);
            Result<std::size_t> deleted = without_gil(
                [&] { return self.client.remove_many(list.views, {.noreply = noreply}); });
            if (!noreply) return value_or_raise(self, deleted);
            raise_unless_answer(self, deleted);
            return deleted ? *deleted : std::size_t{0};
          },
          "keys"_a, "noreply"_a = false)
      .def(
          "incr",
          [](NativeClient& self, nb::handle key, nb::handle delta, bool noreply, nb::handle initial,
             std::int64_t ttl) {
            return arithmetic(self, key, delta, true, initial, ttl, noreply);
          },
          "key"_a, "delta"_a = 1, "noreply"_a = false, nb::kw_only(), "initial"_a = nb::none(),
          "ttl"_a = 0,
          "The new value, or None on a miss; with initial (meta protocol only), a missing "
          "counter is created with that value and ttl instead.")
      .def(
          "decr",
          [](NativeClient& self, nb::handle key, nb::handle delta, bool noreply, nb::handle initial,
             std::int64_t ttl) {
            return arithmetic(self, key, delta, false, initial, ttl, noreply);
          },
          "key"_a, "delta"_a = 1, "noreply"_a = false, nb::kw_only(), "initial"_a = nb::none(),
          "ttl"_a = 0,
          "The new value, or None on a miss; with initial (meta protocol only), a missing "
          "counter is created with that value and ttl instead.")
      .def(
          "touch",
          [](NativeClient& self, nb::handle key, std::int64_t ttl, bool noreply) {
            const std::string_view key_bytes = key_view(key.ptr());
            Result<bool> touched = without_gil(
                [&] { return self.client.touch(key_bytes, ttl, {.noreply = noreply}); });
            if (!noreply) return value_or_raise(self, touched);
            raise_unless_answer(self, touched);
            return true;
          },
          "key"_a, "ttl"_a, "noreply"_a = false)
      .def(
          "flush_all",
          [](NativeClient& self, std::uint32_t delay, bool noreply) {
            Result<Done> done =
                without_gil([&] { return self.client.flush_all(delay, {.noreply = noreply}); });
            if (noreply) {
              raise_unless_answer(self, done);
            } else {
              value_or_raise(self, done);
            }
          },
          "delay"_a = 0, "noreply"_a = false)
      .def("stats",
           [](NativeClient& self, const nb::args& arguments) {
             std::vector<std::string> words;
             for (nb::handle argument : arguments)
               words.push_back(nb::cast<std::string>(nb::str(argument)));
             std::vector<std::string_view> views(words.begin(), words.end());
             auto replies = without_gil([&] { return self.client.stats(views); });
             nb::dict result;
             for (auto& reply : replies) {
               Stats& stats = value_or_raise(self, reply.reply);
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
               result[nb::str(reply.server.c_str())] =
                   nb::str(value_or_raise(self, reply.reply).c_str());
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
