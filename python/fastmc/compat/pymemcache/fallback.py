# SPDX-License-Identifier: MIT
"""pymemcache.fallback: FallbackClient, reads falling back to older caches.

Writes go to the first client; reads try each client in turn until one hits,
so a new cluster can warm up behind an old one. Pure Python over any clients
(fastmc's compat clients included), with pymemcache's return values: writes
return None, and a miss everywhere is None (get, gets) or [] (get_many,
gets_many). Give the old clients ``ignore_exc=True`` so a retired cluster
reads as misses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


class FallbackClient:
    """Writes to ``caches[0]``; reads from the first of ``caches`` that hits."""

    def __init__(self, caches: Sequence[Any]) -> None:
        assert len(caches) > 0
        self.caches = caches

    def close(self) -> None:
        "Close each of the memcached clients"
        for cache in self.caches:
            cache.close()

    def set(self, key: Any, value: Any, expire: int = 0, noreply: bool = True) -> None:
        self.caches[0].set(key, value, expire, noreply)

    def add(self, key: Any, value: Any, expire: int = 0, noreply: bool = True) -> None:
        self.caches[0].add(key, value, expire, noreply)

    def replace(self, key: Any, value: Any, expire: int = 0, noreply: bool = True) -> None:
        self.caches[0].replace(key, value, expire, noreply)

    def append(self, key: Any, value: Any, expire: int = 0, noreply: bool = True) -> None:
        self.caches[0].append(key, value, expire, noreply)

    def prepend(self, key: Any, value: Any, expire: int = 0, noreply: bool = True) -> None:
        self.caches[0].prepend(key, value, expire, noreply)

    def cas(self, key: Any, value: Any, cas: Any, expire: int = 0, noreply: bool = True) -> None:
        self.caches[0].cas(key, value, cas, expire, noreply)

    def _first(self, method: str, argument: Any, miss: Any) -> Any:
        # A result counts as a hit when it is truthy (the multi-key calls)
        # or not None (the single-key ones), as in pymemcache.
        for cache in self.caches:
            result = getattr(cache, method)(argument)
            if result if miss == [] else result is not None:
                return result
        return miss

    def get(self, key: Any) -> Any:
        return self._first("get", key, None)

    def get_many(self, keys: Iterable[Any]) -> Any:
        return self._first("get_many", keys, [])

    def gets(self, key: Any) -> Any:
        return self._first("gets", key, None)

    def gets_many(self, keys: Iterable[Any]) -> Any:
        return self._first("gets_many", keys, [])

    def delete(self, key: Any, noreply: bool = True) -> None:
        self.caches[0].delete(key, noreply)

    def incr(self, key: Any, value: int, noreply: bool = True) -> None:
        self.caches[0].incr(key, value, noreply)

    def decr(self, key: Any, value: int, noreply: bool = True) -> None:
        self.caches[0].decr(key, value, noreply)

    def touch(self, key: Any, expire: int = 0, noreply: bool = True) -> None:
        self.caches[0].touch(key, expire, noreply)

    def stats(self) -> None:
        """Not defined for a fallback chain (None, as in pymemcache)."""

    def flush_all(self, delay: int = 0, noreply: bool = True) -> None:
        self.caches[0].flush_all(delay, noreply)

    def quit(self) -> None:
        """Does nothing, as in pymemcache."""


__all__ = ["FallbackClient"]
