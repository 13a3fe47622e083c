# SPDX-License-Identifier: MIT
"""pymemcache.client.murmur3: MurmurHash3 (x86, 32-bit) of a Python str.

As pymemcache computes it: each character contributes ``ord(c) & 0xff``, and
the length is counted in characters. HashClient does not call this (its
routing is native, src/routing/rendezvous.cpp); it is here for code that
imports it, e.g. to build a RendezvousHash.
"""

from __future__ import annotations

_MASK = 0xFFFFFFFF
_C1 = 0xCC9E2D51
_C2 = 0x1B873593


def _rotate_left(value: int, count: int) -> int:
    return ((value << count) | (value >> (32 - count))) & _MASK


def _final_mix(value: int) -> int:
    value ^= value >> 16
    value = (value * 0x85EBCA6B) & _MASK
    value ^= value >> 13
    value = (value * 0xC2B2AE35) & _MASK
    return value ^ (value >> 16)


def murmur3_32(data: str, seed: int = 0) -> int:
    """MurmurHash3_x86_32 of ``data`` (one byte per character), as an unsigned int."""
    octets = bytes(ord(character) & 0xFF for character in data)
    length = len(octets)
    state = seed & _MASK
    whole = length - length % 4
    for offset in range(0, whole, 4):
        block = int.from_bytes(octets[offset : offset + 4], "little")
        block = _rotate_left((block * _C1) & _MASK, 15)
        state ^= (block * _C2) & _MASK
        state = (_rotate_left(state, 13) * 5 + 0xE6546B64) & _MASK
    tail = int.from_bytes(octets[whole:], "little") if whole < length else 0
    if whole < length:
        tail = _rotate_left((tail * _C1) & _MASK, 15)
        state ^= (tail * _C2) & _MASK
    return _final_mix(state ^ length)


__all__ = ["murmur3_32"]
