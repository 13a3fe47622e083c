# SPDX-License-Identifier: MIT
"""pylibmc's client pools: ClientPool and ThreadMappedPool.

pylibmc needs them because its client is not thread-safe. A fastmc client
is, so one Client can simply be shared; the pools are kept, with pylibmc's
API and semantics (each slot or thread holds a clone of the master), so code
written for pylibmc runs unchanged.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class ClientPool(queue.Queue):
    """A queue of clients: ``with pool.reserve() as mc: ...`` takes one and
    puts it back. ``ClientPool(mc, n_slots)`` fills it with n_slots clones."""

    def __init__(self, mc: Any = None, n_slots: int = 0) -> None:
        super().__init__(n_slots)
        if mc is not None and n_slots:
            self.fill(mc, n_slots)

    @contextmanager
    def reserve(self, block: bool = False) -> Iterator[Any]:
        """A client from the pool for the `with` block. Raises queue.Empty
        when the pool is exhausted, unless `block`: then it waits for one."""
        mc = self.get(block)
        try:
            yield mc
        finally:
            self.put(mc)

    def fill(self, mc: Any, n_slots: int) -> None:
        """Puts n_slots clones of `mc` into the pool."""
        for _ in range(n_slots):
            self.put(mc.clone())


class ThreadMappedPool(dict):
    """One client per thread, cloned from `master` the first time a thread
    reserves one. Call relinquish() before a thread ends to drop its client."""

    def __new__(cls, master: Any) -> ThreadMappedPool:
        return super().__new__(cls)

    def __init__(self, master: Any) -> None:
        super().__init__()
        self.master = master

    @property
    def current_key(self) -> int | None:
        return threading.current_thread().ident

    @contextmanager
    def reserve(self) -> Iterator[Any]:
        """This thread's client for the `with` block."""
        key = self.current_key
        mc = self.pop(key, None)
        if mc is None:
            mc = self.master.clone()
        try:
            yield mc
        finally:
            self[key] = mc

    def relinquish(self) -> Any:
        """Forgets this thread's client and returns it (None if it had none)."""
        return self.pop(self.current_key, None)
