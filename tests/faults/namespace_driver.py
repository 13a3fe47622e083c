# SPDX-License-Identifier: MIT
"""A fastmc.Client driven over stdin/stdout, for tests that run it in another process.

test_network_faults.py runs this file inside a network namespace (``ip netns
exec NAME python namespace_driver.py``) so that the client's sockets live
where the test's firewall rules apply. One JSON object per line in, one per
line out:

    {"op": "client", "servers": [...], "options": {...}}
        -> {"ok": true}
    {"op": "call", "method": "get", "args": ["a"]}
        -> {"ok": true, "value": "b'A'", "elapsed": 0.0004}
        or, when it raises,
        -> {"ok": false, "error": "TimeoutError", "cause": "timed_out", "elapsed": 0.3, ...}
    {"op": "exit"}
        -> (the process exits)

``value`` is the ``repr`` of what the call returned; ``elapsed`` is measured
here, around the call only, so the pipe's latency never counts against the
client's deadline.
"""

from __future__ import annotations

import json
import sys
import time

import fastmc


def answer(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    client: fastmc.Client | None = None
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "exit":
            return
        if request["op"] == "client":
            client = fastmc.Client(request["servers"], **request.get("options", {}))
            answer({"ok": True})
            continue
        assert client is not None and request["op"] == "call"
        method = getattr(client, request["method"])
        started = time.monotonic()
        try:
            value = method(*request.get("args", []))
        except fastmc.Error as error:
            answer(
                {
                    "ok": False,
                    "error": type(error).__name__,
                    "cause": error.cause,
                    "message": str(error),
                    "elapsed": time.monotonic() - started,
                }
            )
            continue
        answer({"ok": True, "value": repr(value), "elapsed": time.monotonic() - started})


if __name__ == "__main__":
    main()
