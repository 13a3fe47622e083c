# SPDX-License-Identifier: MIT
"""pymemcache.pool: ObjectPool, a thread-safe pool of reusable objects.

fastmc's clients pool their connections natively and do not use it; it is
here for code that imports pymemcache's pool for objects of its own. Same
semantics: objects are made on demand up to ``max_size`` (RuntimeError past
it), a free object idle longer than ``idle_timeout`` seconds (0 = never) is
dropped through ``after_remove`` instead of being handed out.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_DEFAULT_MAX_SIZE = 2**31


class ObjectPool(Generic[T]):
    """A pool of objects that release/creates/destroys as needed."""

    def __init__(
        self,
        obj_creator: Callable[[], T],
        after_remove: Callable[[T], Any] | None = None,
        max_size: int | None = None,
        idle_timeout: float = 0,
        lock_generator: Callable[[], Any] | None = None,
    ) -> None:
        self._used_objs: collections.deque[T] = collections.deque()
        self._free_objs: collections.deque[T] = collections.deque()
        self._obj_creator = obj_creator
        self._lock = threading.Lock() if lock_generator is None else lock_generator()
        self._after_remove = after_remove
        max_size = max_size or _DEFAULT_MAX_SIZE
        if not isinstance(max_size, int) or max_size < 0:
            raise ValueError('"max_size" must be a positive integer')
        self.max_size = max_size
        self.idle_timeout = idle_timeout
        # Without an idle timeout every object reads as used at time 0.
        self._idle_clock: Callable[[], float] = time.time if idle_timeout else float

    @property
    def used(self) -> tuple[T, ...]:
        return tuple(self._used_objs)

    @property
    def free(self) -> tuple[T, ...]:
        return tuple(self._free_objs)

    @contextlib.contextmanager
    def get_and_release(self, destroy_on_fail: bool = False) -> Iterator[T]:
        """An object for the ``with`` block, released after it (destroyed
        instead when the block raises and ``destroy_on_fail``)."""
        obj = self.get()
        try:
            yield obj
        except Exception:
            if destroy_on_fail:
                self.destroy(obj)
            else:
                self.release(obj)
            raise
        self.release(obj)

    def get(self) -> T:
        """A free object that has not idled too long, or a new one."""
        with self._lock:
            now = self._idle_clock()
            obj = None
            while self._free_objs:
                candidate = self._free_objs.popleft()
                if now - candidate._last_used <= self.idle_timeout:  # type: ignore[attr-defined]
                    obj = candidate
                    break
                if self._after_remove is not None:
                    self._after_remove(candidate)
            if obj is None:
                if len(self._used_objs) >= self.max_size:
                    raise RuntimeError(
                        f"Too many objects, {len(self._used_objs)} >= {self.max_size}"
                    )
                obj = self._obj_creator()
            self._used_objs.append(obj)
            obj._last_used = now  # type: ignore[attr-defined]
            return obj

    def destroy(self, obj: T, silent: bool = True) -> None:
        """Drops a used object (through ``after_remove``)."""
        with self._lock:
            try:
                self._used_objs.remove(obj)
            except ValueError:
                if not silent:
                    raise
                return
        if self._after_remove is not None:
            self._after_remove(obj)

    def release(self, obj: T, silent: bool = True) -> None:
        """Gives a used object back to the pool."""
        with self._lock:
            try:
                self._used_objs.remove(obj)
            except ValueError:
                if not silent:
                    raise
                return
            self._free_objs.append(obj)
            obj._last_used = self._idle_clock()  # type: ignore[attr-defined]

    def clear(self) -> None:
        """Drops every object, used or free."""
        with self._lock:
            dropped = [*self._used_objs, *self._free_objs]
            self._used_objs.clear()
            self._free_objs.clear()
        if self._after_remove is not None:
            for obj in dropped:
                self._after_remove(obj)


__all__ = ["ObjectPool"]
