// SPDX-License-Identifier: MIT
// Reads the routing golden vectors of tests/data/routing (written by
// tools/gen_hash_vectors.py from the peers; format in that script and in
// tests/data/PROVENANCE.md) and checks a Router against them.
//
// The data folder comes from the FASTMC_TEST_DATA_DIR compile definition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "routing/distribution.hpp"
#include "routing/key_hash.hpp"
#include "routing/rendezvous.hpp"
#include "routing/router.hpp"

namespace fastmc::testing {

inline std::string routing_data_path(std::string_view file_name) {
  return std::string(FASTMC_TEST_DATA_DIR) + "/routing/" + std::string(file_name);
}

// Every line of `path` that is not empty and not a '#' comment.
inline std::vector<std::string> read_data_lines(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot open " + path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(file, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    lines.push_back(line);
  }
  return lines;
}

// Splits on every comma, keeping empty fields.
inline std::vector<std::string> split_fields(std::string_view line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      fields.emplace_back(line.substr(start));
      return fields;
    }
    fields.emplace_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

inline std::string from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw std::runtime_error("bad hex digit");
  };
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes += static_cast<char>((nibble(hex[i]) << 4) | nibble(hex[i + 1]));
  }
  return bytes;
}

// key_hashes.csv: one row per key, one column per KeyHash name.
struct KeyHashTable {
  std::vector<std::string> columns;
  std::vector<std::string> keys;
  std::vector<std::vector<std::uint32_t>> values;  // [key][column]
};

inline KeyHashTable read_key_hashes() {
  const std::vector<std::string> lines = read_data_lines(routing_data_path("key_hashes.csv"));
  KeyHashTable table;
  std::vector<std::string> header = split_fields(lines.at(0));
  table.columns.assign(header.begin() + 1, header.end());
  for (std::size_t row = 1; row < lines.size(); ++row) {
    const std::vector<std::string> fields = split_fields(lines[row]);
    table.keys.push_back(from_hex(fields.at(0)));
    std::vector<std::uint32_t> values;
    for (std::size_t column = 1; column < fields.size(); ++column) {
      values.push_back(static_cast<std::uint32_t>(std::stoul(fields[column])));
    }
    table.values.push_back(std::move(values));
  }
  return table;
}

enum class KeyForm { raw, py_str, py_bytes };

struct PlacementKey {
  KeyForm form = KeyForm::raw;
  std::string key;
  long expected = -1;  // the server index, or -1 for no server
};

struct PlacementCase {
  std::string name;
  std::string kind;
  std::string hash;
  std::string prefix;
  bool hash_with_prefix = false;
  std::string mode;  // plain, live_subset or failover
  std::vector<std::size_t> dead;
  std::vector<routing::RoutingServer> servers;
  std::vector<PlacementKey> keys;

  bool is_dead(std::size_t index) const {
    for (const std::size_t dead_index : dead) {
      if (dead_index == index) return true;
    }
    return false;
  }

  routing::Router router() const {
    routing::RouterOptions options;
    options.kind = routing::distribution_kind_from_name(kind).value();
    options.hash = routing::key_hash_from_name(hash).value();
    options.prefix = prefix;
    options.hash_with_prefix = hash_with_prefix;
    return routing::Router(servers, options);
  }
};

inline std::vector<PlacementCase> read_placements(std::string_view file_name) {
  std::vector<PlacementCase> cases;
  for (const std::string& line : read_data_lines(routing_data_path(file_name))) {
    const std::vector<std::string> fields = split_fields(line);
    const std::string& tag = fields.at(0);
    if (tag == "case") {
      PlacementCase placement;
      placement.name = fields.at(1);
      placement.kind = fields.at(2);
      placement.hash = fields.at(3);
      placement.prefix = from_hex(fields.at(4));
      placement.hash_with_prefix = fields.at(5) == "1";
      placement.mode = fields.at(6);
      std::stringstream dead(fields.at(7));
      std::string index;
      while (std::getline(dead, index, ';')) placement.dead.push_back(std::stoul(index));
      cases.push_back(std::move(placement));
    } else if (tag == "server") {
      routing::RoutingServer server;
      server.host = fields.at(1);
      server.port = static_cast<std::uint16_t>(std::stoul(fields.at(2)));
      server.path = fields.at(3);
      server.weight = static_cast<std::uint32_t>(std::stoul(fields.at(4)));
      server.alias = fields.at(5);
      cases.back().servers.push_back(std::move(server));
    } else if (tag == "key") {
      PlacementKey key;
      const std::string& form = fields.at(1);
      key.form = form == "py_str"     ? KeyForm::py_str
                 : form == "py_bytes" ? KeyForm::py_bytes
                                      : KeyForm::raw;
      key.key = from_hex(fields.at(2));
      key.expected = std::stol(fields.at(3));
      cases.back().keys.push_back(std::move(key));
    } else {
      throw std::runtime_error("unknown line in " + std::string(file_name) + ": " + line);
    }
  }
  return cases;
}

// The key as the router is given it: pymemcache's forms go through the
// helpers the engine uses.
inline std::string routed_form(const PlacementKey& key) {
  switch (key.form) {
    case KeyForm::py_str: return routing::pymemcache_str_key(key.key);
    case KeyForm::py_bytes: return routing::pymemcache_bytes_key(key.key);
    case KeyForm::raw: break;
  }
  return key.key;
}

// Checks every key of `placement` with the router call its mode names, and
// returns how many keys were checked.
inline std::size_t expect_placements_match(const PlacementCase& placement) {
  SCOPED_TRACE("case " + placement.name);
  const routing::Router router = placement.router();
  std::optional<routing::Router> live;
  auto is_live = [&](std::size_t index) { return !placement.is_dead(index); };
  if (placement.mode == "live_subset") live = router.live_subset(is_live);
  std::size_t mismatches = 0;
  for (const PlacementKey& key : placement.keys) {
    const std::string routed = routed_form(key);
    long actual = -1;
    if (placement.mode == "plain") {
      actual = static_cast<long>(router.server_for_key(routed));
    } else if (placement.mode == "live_subset") {
      if (live) actual = static_cast<long>(live->server_for_key(routed));
    } else if (placement.mode == "failover") {
      const std::optional<std::size_t> server = router.live_server_for_key(routed, is_live);
      if (server) actual = static_cast<long>(*server);
    } else {
      ADD_FAILURE() << "unknown mode " << placement.mode;
      return 0;
    }
    if (actual != key.expected && ++mismatches <= 5) {
      ADD_FAILURE() << "key " << ::testing::PrintToString(key.key) << " (routed as "
                    << ::testing::PrintToString(routed) << "): peer says " << key.expected
                    << ", fastmc says " << actual;
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << placement.keys.size() << " keys";
  return placement.keys.size();
}

// The case called `name` in `cases`; fails the test if there is none.
inline const PlacementCase& find_case(const std::vector<PlacementCase>& cases,
                                      std::string_view name) {
  for (const PlacementCase& placement : cases) {
    if (placement.name == name) return placement;
  }
  throw std::runtime_error("no case " + std::string(name));
}

}  // namespace fastmc::testing
