# SPDX-License-Identifier: MIT
"""pymemcache.test.utils: MockMemcacheClient, an in-memory stand-in for Client.

Pure Python and no server, with pymemcache's mock semantics (its return values
under noreply, str values stored encoded before the serde sees them, cas
unsupported), so tests written against pymemcache's mock pass unchanged.
For tests against a real server, fastmc.testing starts memcached.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from typing import Any

from fastmc.compat.pymemcache.client.base import check_key_helper
from fastmc.compat.pymemcache.exceptions import MemcacheClientError, MemcacheIllegalInputError
from fastmc.compat.pymemcache.serde import LegacyWrappingSerde


class MockMemcacheClient:
    """A (partial) in-memory mock of Client."""

    def __init__(
        self,
        server: Any = None,
        serde: Any = None,
        serializer: Any = None,
        deserializer: Any = None,
        connect_timeout: float | None = None,
        timeout: float | None = None,
        no_delay: bool = False,
        ignore_exc: bool = False,
        socket_module: Any = None,
        default_noreply: bool = True,
        allow_unicode_keys: bool = False,
        encoding: str = "ascii",
        tls_context: Any = None,
    ) -> None:
        # key -> (absolute expiry or 0, stored bytes, flags)
        self._contents: dict[bytes, tuple[float, Any, int]] = {}
        self.serde = serde or LegacyWrappingSerde(serializer, deserializer)
        self.allow_unicode_keys = allow_unicode_keys
        # Unused, kept for interface compatibility.
        self.server = server
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.no_delay = no_delay
        self.ignore_exc = ignore_exc
        self.socket_module = socket
        self.sock = None
        self.encoding = encoding
        self.tls_context = tls_context

    def check_key(self, key: Any) -> bytes:
        """The key as bytes, or MemcacheIllegalInputError."""
        return check_key_helper(key, allow_unicode_keys=self.allow_unicode_keys)

    def clear(self) -> None:
        """Empties the mock cache."""
        self._contents.clear()

    def _encoded(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return value.encode(self.encoding)
            except UnicodeError:
                raise MemcacheIllegalInputError from None
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        key = self.check_key(key)
        entry = self._contents.get(key)
        if entry is None:
            return default
        expire, value, flags = entry
        if expire and expire < time.time():
            del self._contents[key]
            return default
        return self.serde.deserialize(key, value, flags)

    def get_many(self, keys: Iterable[Any]) -> dict[Any, Any]:
        # As pymemcache's mock: a stored None counts as a miss.
        values = {key: self.get(key) for key in keys}
        return {key: value for key, value in values.items() if value is not None}

    get_multi = get_many

    def set(
        self,
        key: Any,
        value: Any,
        expire: int = 0,
        noreply: bool = True,
        flags: int | None = None,
    ) -> bool:
        key = self.check_key(key)
        data, flags = self.serde.serialize(key, self._encoded(value))
        self._contents[key] = (expire + time.time() if expire else 0, data, flags)
        return True

    def set_many(
        self,
        values: dict[Any, Any],
        expire: int = 0,
        noreply: bool = True,
        flags: int | None = None,
    ) -> list[Any]:
        failed = [
            key for key, value in values.items() if not self.set(key, value, expire, noreply, flags)
        ]
        return [] if noreply else failed

    set_multi = set_many

    def incr(self, key: Any, value: int, noreply: bool = False) -> int | None:
        current = self.get(key)
        if current is None:
            return None
        self.set(key, current + value, noreply=noreply)
        return None if noreply else current + value

    def decr(self, key: Any, value: int, noreply: bool = False) -> int | None:
        current = self.get(key)
        if current is None:
            return None
        self.set(key, current - value, noreply=noreply)
        return None if noreply else current - value

    def add(
        self, key: Any, value: Any, expire: int = 0, noreply: bool = True, flags: int | None = None
    ) -> bool:
        present = self.get(key) is not None
        if not present:
            self.set(key, value, expire, noreply, flags=flags)
        return noreply or not present

    def delete(self, key: Any, noreply: bool = True) -> bool:
        present = self._contents.pop(self.check_key(key), None) is not None
        return noreply or present

    def delete_many(self, keys: Iterable[Any], noreply: bool = True) -> bool:
        for key in keys:
            self.delete(key, noreply)
        return True

    delete_multi = delete_many

    def prepend(
        self, key: Any, value: Any, expire: int = 0, noreply: bool = True, flags: int | None = None
    ) -> bool:
        current = self.get(key)
        if current is not None:
            self.set(key, self._encoded(value) + current, expire, noreply, flags=flags)
        return True

    def append(
        self, key: Any, value: Any, expire: int = 0, noreply: bool = True, flags: int | None = None
    ) -> bool:
        current = self.get(key)
        if current is not None:
            self.set(key, current + self._encoded(value), expire, noreply, flags=flags)
        return True

    def replace(
        self, key: Any, value: Any, expire: int = 0, noreply: bool = True, flags: int | None = None
    ) -> bool:
        present = self.get(key) is not None
        if present:
            self.set(key, value, expire, noreply, flags=flags)
        return noreply or present

    def cas(
        self,
        key: Any,
        value: Any,
        cas: Any,
        expire: int = 0,
        noreply: bool = False,
        flags: int | None = None,
    ) -> bool:
        raise MemcacheClientError("CAS is not enabled for this instance")

    def touch(self, key: Any, expire: int = 0, noreply: bool = True) -> bool:
        current = self.get(key)
        present = current is not None
        if present:
            self.set(key, current, expire, noreply=noreply)
        return noreply or present

    def stats(self, *args: Any) -> dict[str, Any]:
        # The shape of Client.stats(); the values mean nothing.
        return {
            "version": "MockMemcacheClient",
            "rusage_user": 1.0,
            "rusage_system": 1.0,
            "hash_is_expanding": False,
            "slab_reassign_running": False,
            "inter": "in-memory",
            "evictions": False,
            "growth_factor": 1.0,
            "stat_key_prefix": "",
            "umask": 0o644,
            "detail_enabled": False,
            "cas_enabled": False,
            "auth_enabled_sasl": False,
            "maxconns_fast": False,
            "slab_reassign": False,
            "slab_automove": False,
        }

    def cache_memlimit(self, memlimit: int) -> bool:
        return True

    def version(self) -> str:
        return "MockMemcacheClient"

    def flush_all(self, delay: int = 0, noreply: bool = True) -> bool:
        self.clear()
        return noreply or self._contents == {}

    def quit(self) -> None:
        pass

    def close(self) -> None:
        pass


__all__ = ["MockMemcacheClient"]
