// SPDX-License-Identifier: MIT
#include "protocol/binary_header.hpp"

namespace fastmc::protocol {

bool is_known_opcode(std::uint8_t opcode) noexcept {
  return opcode <= static_cast<std::uint8_t>(BinaryOpcode::verbosity) ||
         (opcode >= static_cast<std::uint8_t>(BinaryOpcode::touch) &&
          opcode <= static_cast<std::uint8_t>(BinaryOpcode::gat_quiet)) ||
         (opcode >= static_cast<std::uint8_t>(BinaryOpcode::sasl_list_mechanisms) &&
          opcode <= static_cast<std::uint8_t>(BinaryOpcode::gat_key_quiet));
}

void append_big_endian(RequestBuffer& out, std::uint64_t value, std::size_t size) {
  char bytes[8];
  for (std::size_t i = 0; i < size; ++i) {
    bytes[size - 1 - i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  out.append(std::string_view(bytes, size));
}

std::uint64_t read_big_endian(std::string_view bytes, std::size_t size) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

void append_binary_header(RequestBuffer& out, const BinaryHeader& header) {
  out.append(static_cast<char>(header.magic));
  out.append(static_cast<char>(header.opcode));
  append_big_endian(out, header.key_size, 2);
  out.append(static_cast<char>(header.extras_size));
  out.append(static_cast<char>(header.data_type));
  append_big_endian(out, header.status, 2);
  append_big_endian(out, header.body_size, 4);
  append_big_endian(out, header.opaque, 4);
  append_big_endian(out, header.cas, 8);
}

BinaryHeader decode_binary_header(std::string_view bytes) noexcept {
  BinaryHeader header;
  header.magic = static_cast<std::uint8_t>(bytes[0]);
  header.opcode = static_cast<std::uint8_t>(bytes[1]);
  header.key_size = static_cast<std::uint16_t>(read_big_endian(bytes.substr(2), 2));
  header.extras_size = static_cast<std::uint8_t>(bytes[4]);
  header.data_type = static_cast<std::uint8_t>(bytes[5]);
  header.status = static_cast<std::uint16_t>(read_big_endian(bytes.substr(6), 2));
  header.body_size = static_cast<std::uint32_t>(read_big_endian(bytes.substr(8), 4));
  header.opaque = static_cast<std::uint32_t>(read_big_endian(bytes.substr(12), 4));
  header.cas = read_big_endian(bytes.substr(16), 8);
  return header;
}

}  // namespace fastmc::protocol
