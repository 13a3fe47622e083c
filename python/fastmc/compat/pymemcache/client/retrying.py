# SPDX-License-Identifier: MIT
"""pymemcache.client.retrying: RetryingClient, retries around any client.

Pure Python, as in pymemcache: it wraps a Client, PooledClient or HashClient
(fastmc's or anything with the same calls) and retries a call that raised.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any


def _exception_classes(name: str, classes: Iterable[type] | None) -> tuple[type, ...]:
    if classes is None:
        return ()
    if not isinstance(classes, (tuple, set, list)):
        raise ValueError(f"{name} must be either a tuple, a set or a list.")
    result = tuple(classes)
    if not all(isinstance(cls, type) and issubclass(cls, Exception) for cls in result):
        raise ValueError(
            f"{name} is only allowed to contain elements that are subclasses of Exception."
        )
    return result


class RetryingClient:
    """Calls ``client``'s methods up to ``attempts`` times, sleeping
    ``retry_delay`` seconds between attempts, for exceptions in ``retry_for``
    (all when None) and not in ``do_not_retry_for``."""

    def __init__(
        self,
        client: Any,
        attempts: int = 2,
        retry_delay: float = 0,
        retry_for: Iterable[type] | None = None,
        do_not_retry_for: Iterable[type] | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError(
                "`attempts` argument must be at least 1. Otherwise no attempts are made."
            )
        self._client = client
        self._attempts = attempts
        self._retry_delay = retry_delay
        self._retry_for = _exception_classes("retry_for", retry_for)
        self._do_not_retry_for = _exception_classes("do_not_retry_for", do_not_retry_for)
        for cls in self._retry_for:
            if cls in self._do_not_retry_for:
                raise ValueError(
                    f'Exception class "{cls!r}" was present in both `retry_for` and '
                    "`do_not_retry_for`. Any exception class is only allowed in a single "
                    "argument."
                )
        self._client_dir = dir(client)

    def _retry(self, name: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        for attempt in range(self._attempts):
            try:
                return function(*args, **kwargs)
            except Exception as error:
                if (
                    attempt >= self._attempts - 1
                    or (self._retry_for and not isinstance(error, self._retry_for))
                    or (self._do_not_retry_for and isinstance(error, self._do_not_retry_for))
                    or name not in self._client_dir
                ):
                    raise
                time.sleep(self._retry_delay)
        return None  # not reached: attempts >= 1

    def __getattr__(self, name: str) -> Any:
        function = getattr(self._client, name)
        return lambda *args, **kwargs: self._retry(name, function, *args, **kwargs)

    def __dir__(self) -> list[str]:
        return self._client_dir

    def __setitem__(self, key: Any, value: Any) -> None:
        self.set(key, value, noreply=True)

    def __getitem__(self, key: Any) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError
        return value

    def __delitem__(self, key: Any) -> None:
        self.delete(key, noreply=True)


__all__ = ["RetryingClient"]
