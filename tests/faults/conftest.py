# SPDX-License-Identifier: MIT
"""Fixtures for fault tests: the scripted fake server (see scripted_server.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The fault tests import the fake server as a plain module from this folder.
sys.path.insert(0, str(Path(__file__).parent))

from scripted_server import ScriptedServer, Step


@pytest.fixture
def scripted_server() -> Iterator[Callable[..., ScriptedServer]]:
    """Returns ``start(*scripts, repeat_last=False) -> ScriptedServer`` (started).

    At the end of the test every server it started is shut down, and any
    script mismatch fails the test.
    """
    servers: list[ScriptedServer] = []

    def start(*scripts: list[Step], **kwargs: Any) -> ScriptedServer:
        server = ScriptedServer(*scripts, **kwargs)
        servers.append(server)
        return server.start()

    yield start
    errors = []
    for server in servers:
        server.close()
        errors += server.errors
    if errors:
        pytest.fail("scripted server mismatches:\n  " + "\n  ".join(errors), pytrace=False)
