# SPDX-License-Identifier: MIT
"""Serdes: how values that are not bytes, str, int or bool are stored.

A serde has ``serialize(key, value) -> (bytes, flags)`` and
``deserialize(key, data, flags) -> value`` (pymemcache's protocol). The
native types never reach it; the client hands it every value it cannot
store natively, and every item whose flags it does not recognise.

``pickle_serde`` executes code found in the cache when it reads: use it only
when every writer to the cache is trusted. It is never enabled by default.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

from fastmc.errors import DecodeError

# The family's pickle bit (python-memcached, pylibmc, pymemcache all use 1).
FLAG_PICKLE = 1
# A fastmc bit for JSON, unused by every peer client's scheme.
FLAG_JSON = 512


class JsonSerde:
    """Stores JSON-compatible values (dict, list, float, None, ...) as UTF-8 JSON."""

    def serialize(self, key: Any, value: Any) -> tuple[bytes, int]:
        return json.dumps(value, separators=(",", ":")).encode(), FLAG_JSON

    def deserialize(self, key: Any, data: bytes, flags: int) -> Any:
        if flags != FLAG_JSON:
            raise DecodeError(f"cannot decode the value of key {key!r}: unknown flags {flags}")
        return json.loads(data)


class PickleSerde:
    """Stores any picklable value with the family's pickle flag (1)."""

    def __init__(self, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
        self.protocol = protocol

    def serialize(self, key: Any, value: Any) -> tuple[bytes, int]:
        return pickle.dumps(value, protocol=self.protocol), FLAG_PICKLE

    def deserialize(self, key: Any, data: bytes, flags: int) -> Any:
        if flags != FLAG_PICKLE:
            raise DecodeError(f"cannot decode the value of key {key!r}: unknown flags {flags}")
        return pickle.loads(data)


json_serde = JsonSerde()
pickle_serde = PickleSerde()

__all__ = ["FLAG_JSON", "FLAG_PICKLE", "JsonSerde", "PickleSerde", "json_serde", "pickle_serde"]
