// SPDX-License-Identifier: MIT
// Reads the value golden vectors of tests/data/values (written by the peers
// themselves through tools/gen_value_vectors.py; provenance in
// tests/data/PROVENANCE.md). The data folder comes from the
// FASTMC_TEST_DATA_DIR compile definition.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fastmc::test {

// The comma-separated fields of every non-comment line of `file_name`.
inline std::vector<std::vector<std::string>> read_value_vectors(const std::string& file_name) {
  std::ifstream input(std::string(FASTMC_TEST_DATA_DIR) + "/values/" + file_name);
  if (!input) throw std::runtime_error("cannot open " + file_name);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(input, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream stream(line);
    std::string field;
    while (std::getline(stream, field, ',')) fields.push_back(field);
    if (line.back() == ',') fields.emplace_back();
    rows.push_back(fields);
  }
  return rows;
}

inline std::string bytes_of_hex(const std::string& hex) {
  std::string bytes;
  for (std::size_t index = 0; index + 1 < hex.size(); index += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(index, 2), nullptr, 16)));
  }
  return bytes;
}

// One item a peer wrote: its flags and stored bytes.
struct WrittenValue {
  std::string writer;
  std::string name;  // the case: bytes, str, int, ...
  std::uint32_t flags = 0;
  std::string stored;
};

// How a peer read another's item: a Python type name or error:<type>.
struct ReadOutcome {
  std::string writer;
  std::string name;
  std::string reader;
  std::string outcome;
};

inline void read_encodings(std::vector<WrittenValue>& written, std::vector<ReadOutcome>& reads) {
  for (const auto& row : read_value_vectors("encodings.csv")) {
    if (row.at(0) == "read") {
      reads.push_back({row.at(1), row.at(2), row.at(3), row.at(4)});
    } else {
      written.push_back({row.at(0), row.at(1), static_cast<std::uint32_t>(std::stoul(row.at(2))),
                         bytes_of_hex(row.at(3))});
    }
  }
}

}  // namespace fastmc::test
