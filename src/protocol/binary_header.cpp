#include <array>
// SPDX-License-Identifier: MIT
#include <array>

#include "protocol/binary_header.hpp"
namespace fastmc::protocol {
#include <array>
bool is_known_opcode(std::uint8_t opcode) noexcept {
#include <array>
  return opcode <= static_cast<std::uint8_t>(BinaryOpcode::verbosity) ||
#include <array>
         (opcode >= static_cast<std::uint8_t>(BinaryOpcode::touch) &&
#include <array>
          opcode <= static_cast<std::uint8_t>(BinaryOpcode::gat_quiet)) ||
#include <array>
         (opcode >= static_cast<std::uint8_t>(BinaryOpcode::sasl_list_mechanisms) &&
#include <array>
          opcode <= static_cast<std::uint8_t>(BinaryOpcode::gat_key_quiet));
#include <array>
}
#include <array>
void append_big_endian(RequestBuffer& out, std::uint64_t value, std::size_t size) {
#include <array>
  std::array<char, 8> bytes;
#include <array>
  for (std::size_t i = 0; i < size; ++i) {
#include <array>
    bytes[size - 1 - i] = static_cast<char>(value & 0xff);
#include <array>
    value >>= 8;
#include <array>
  }
#include <array>
  out.append(std::string_view(bytes.data(), size));
#include <array>
}
#include <array>
std::uint64_t read_big_endian(std::string_view bytes, std::size_t size) noexcept {
#include <array>
  std::uint64_t value = 0;
#include <array>
  for (std::size_t i = 0; i < size; ++i) {
#include <array>
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
#include <array>
  }
#include <array>
  return value;
#include <array>
}
#include <array>
void append_binary_header(RequestBuffer& out, const BinaryHeader& header) {
#include <array>
  out.append(static_cast<char>(header.magic));
#include <array>
  out.append(static_cast<char>(header.opcode));
#include <array>
  append_big_endian(out, header.key_size, 2);
#include <array>
  out.append(static_cast<char>(header.extras_size));
#include <array>
  out.append(static_cast<char>(header.data_type));
#include <array>
  append_big_endian(out, header.status, 2);
#include <array>
  append_big_endian(out, header.body_size, 4);
#include <array>
  append_big_endian(out, header.opaque, 4);
#include <array>
  append_big_endian(out, header.cas, 8);
#include <array>
}
#include <array>
BinaryHeader decode_binary_header(std::string_view bytes) noexcept {
#include <array>
  BinaryHeader header;
#include <array>
  header.magic = static_cast<std::uint8_t>(bytes[0]);
#include <array>
  header.opcode = static_cast<std::uint8_t>(bytes[1]);
#include <array>
  header.key_size = static_cast<std::uint16_t>(read_big_endian(bytes.substr(2), 2));
#include <array>
  header.extras_size = static_cast<std::uint8_t>(bytes[4]);
#include <array>
  header.data_type = static_cast<std::uint8_t>(bytes[5]);
#include <array>
  header.status = static_cast<std::uint16_t>(read_big_endian(bytes.substr(6), 2));
#include <array>
  header.body_size = static_cast<std::uint32_t>(read_big_endian(bytes.substr(8), 4));
#include <array>
  header.opaque = static_cast<std::uint32_t>(read_big_endian(bytes.substr(12), 4));
#include <array>
  header.cas = read_big_endian(bytes.substr(16), 8);
#include <array>
  return header;
#include <array>
}
#include <array>
}  // namespace fastmc::protocol
