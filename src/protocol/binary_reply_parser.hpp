// SPDX-License-Identifier: MIT
// Binary-protocol reply parser (protocol layer). Packet layout:
// docs/protocol.md, section "Binary".
//
// A binary reply is one packet: the 24-byte header, then extras, key and
// value, sized by the header. The header names the opcode it answers and
// echoes the request's opaque, so, like the meta parser, this one is not told
// what to expect; matching the opcode and opaque to the request is the
// caller's job (net::Connection does it).
//
// The reply's meaning is mapped onto the status the text protocol gives the
// same outcome, so the layers above read every protocol alike:
//   success:  get family -> value (flags from the extras, cas, key for the
//             k forms); set, add, replace, append, prepend -> stored (with
//             the new cas); delete -> deleted; incr, decr -> number; touch ->
//             touched; flush, verbosity, quit, SASL list/auth/step -> ok
//             (`data`: the mechanisms or the server's message); noop ->
//             noop; version -> version; stat -> stat (key, data), and the
//             empty stat that ends the list -> end.
//   failure:  key_not_found -> miss for the get family, not_found otherwise;
//             key_exists -> exists; item_not_stored -> not_stored;
//             invalid_arguments, non_numeric_value -> client_error;
//             unknown_command, not_supported -> error; auth_error ->
//             auth_error; auth_continue -> auth_continue (`data`: the
//             challenge); every other code, known or not, -> server_error
//             (the packet is framed by its size, so an unknown code does not
//             break the stream). `data` holds the server's message, `key`
//             the key if the reply has one (memcached answers a getk or gatk
//             miss with the key and no message).
// The raw opcode, status and opaque are in Reply::binary_*.
//
// Pure function over a byte span: no socket, no allocation, and the same
// result however the input was split (the tests feed every split; the
// fuzzer checks it too). Thread-safety: pure. Lifetime: views in the Reply
// point into `input`.
#pragma once

#include <cstddef>
#include <string_view>

#include "protocol/parse_result.hpp"
#include "protocol/reply.hpp"

namespace fastmc::protocol {

// Parses the first reply packet in `input`.
// - complete: `reply` holds it; `consumed` is its size.
// - need_more: `input` ends inside the packet. Once the header is in,
//   `needed` is the whole packet's size. When a successful get-family reply's
//   header, extras and key are in but not all of its value, `reply` holds
//   everything but `data` (status value, flags, cas, key, binary_*), so the
//   caller may receive the value elsewhere; otherwise `reply` is unspecified.
// - malformed: a magic other than 0x81, an unknown opcode, a data type other
//   than 0, extras and key longer than the body, a key over 250 bytes, a
//   value over `max_value_size`, or a packet whose shape does not fit its
//   opcode and status (a get hit without 4 bytes of flags, a k-form hit
//   without a key, an incr result not 8 bytes long, extras or a key on any
//   other reply or on any failure (a touch reply may carry 4 bytes of flags: memcached 1.6.18
//   sends them), a value on a store, delete, touch, flush or noop reply, a
//   stat with a value but no name).
// Every decision is taken from the header alone, so a malformed packet is
// reported as soon as its 24 header bytes are in.
ParseResult parse_binary_reply(std::string_view input, std::size_t max_value_size,
                               Reply& reply) noexcept;

}  // namespace fastmc::protocol
