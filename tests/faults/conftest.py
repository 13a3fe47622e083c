# SPDX-License-Identifier: MIT
"""Fixtures for fault tests: the scripted fake server (see scripted_server.py), the
user-space delay proxy (delay_proxy.py) and the fault matrix recorder.

The matrix: a test calls ``fault_matrix.record(...)`` once per scenario it
covers (faults.md row, scenario, expected, observed, worst latency, deadline).
With ``FASTMC_FAULT_MATRIX=path`` set, the session writes every recorded row,
with its test's outcome, as a Markdown table to ``path`` (tests/faults/MATRIX.md
is made that way); without it, recording costs nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The fault tests import the fake server as a plain module from this folder.
sys.path.insert(0, str(Path(__file__).parent))

from delay_proxy import DelayProxy
from scripted_server import ScriptedServer, Step

_MATRIX_VARIABLE = "FASTMC_FAULT_MATRIX"


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


@pytest.fixture
def delay_proxy() -> Iterator[Callable[..., DelayProxy]]:
    """Returns ``start(upstream, delay=0.0) -> DelayProxy`` (started); all are closed at the end."""
    proxies: list[DelayProxy] = []

    def start(upstream: str, **kwargs: Any) -> DelayProxy:
        proxy = DelayProxy(upstream, **kwargs)
        proxies.append(proxy)
        return proxy.start()

    try:
        yield start
    finally:
        for proxy in proxies:
            proxy.close()


@dataclass
class MatrixRow:
    row: str  # the faults.md row ("N3", "P5", ...)
    scenario: str
    expected: str
    observed: str
    worst: float | None  # the slowest call of the scenario, seconds
    deadline: float | None  # the timeout it was held to, seconds
    test: str
    result: str = "pass"


_matrix_rows: list[MatrixRow] = []


class FaultMatrix:
    """What a test reports for the matrix; see the module docstring."""

    def __init__(self, test: str) -> None:
        self._test = test

    def record(
        self,
        row: str,
        scenario: str,
        *,
        expected: str,
        observed: str,
        worst: float | None = None,
        deadline: float | None = None,
    ) -> None:
        _matrix_rows.append(
            MatrixRow(row, scenario, expected, observed, worst, deadline, self._test)
        )


@pytest.fixture
def fault_matrix(request: pytest.FixtureRequest) -> FaultMatrix:
    return FaultMatrix(request.node.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    if report.failed:
        for row in _matrix_rows:
            if row.test == item.nodeid:
                row.result = f"FAIL ({report.when})"
    return report


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value * 1000:.0f} ms"


_MATRIX_HEADER = """\
# Fault matrix (generated)

Rows are those of faults.md section 2 (N network and server, P replies, C
concurrency and process). Made by `FASTMC_FAULT_MATRIX=tests/faults/MATRIX.md
python -m pytest tests/faults -m "soak or not soak"` (docs/testing.md). *worst*
is the slowest call of the scenario, timed around the call (inside the client's
own process for the namespace tests); *deadline* the timeout it was held to.
The tests allow 60 ms past a deadline single-threaded and 250 ms with 4 to 16
threads on two cores (GIL waits after the call returned).

"""

# Rows of faults.md section 2 that this suite does not record, and why.
_ROWS_ELSEWHERE = [
    (
        "N7",
        "tests/python/test_client.py::test_a_stopped_server_times_out_and_the_next_call_"
        "gets_its_own_value (SIGSTOP, real late reply); SIGSTOP also in C1, C4, C5, C6, C7",
    ),
    (
        "N18",
        "tests/python/test_cluster.py (one of five servers down: fast failure, partial "
        "get_many, failover and auto_eject policies, recovery)",
    ),
    (
        "P9, P10",
        "tests/cpp/protocol/*_reply_parser_test.cpp run every case at every split "
        "point (tests/cpp/support/split_feeder.hpp); ValueContainingTheEndMarkerIsReadByItsSize",
    ),
    (
        "P12",
        "cannot be produced: keys and arguments are validated before anything is sent "
        "(tests/python/test_client.py::test_invalid_keys_raise_before_anything_is_sent)",
    ),
    ("P14", "no binary protocol in this tree yet"),
    (
        "P15",
        "tests/cpp/protocol/meta_reply_parser_test.cpp, tests/faults/test_set_many_pipelines.py",
    ),
    (
        "K1-K14",
        "tests/python/test_client.py (invalid keys, values above the item size, "
        "argument ranges), tests/cpp/protocol/key_test.cpp",
    ),
    ("C2", "tests/python/test_client.py::test_the_gil_is_released_while_waiting"),
    ("C8", "not covered: libfaketime only accelerates the server's TTLs"),
    ("T1-T8, S1-S5", "not in this tree yet (TLS and SASL are being added)"),
]


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get(_MATRIX_VARIABLE)
    if not path or not _matrix_rows:
        return
    lines = [
        "| row | scenario | expected | observed | worst | deadline | result |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    families = {family: index for index, family in enumerate("NPKCT")}

    def order(row: MatrixRow) -> tuple[int, int]:
        number = "".join(filter(str.isdigit, row.row))
        return families.get(row.row[:1], len(families)), int(number or 0)

    for row in sorted(_matrix_rows, key=order):
        cells = [
            row.row,
            row.scenario,
            row.expected,
            row.observed,
            _seconds(row.worst),
            _seconds(row.deadline),
            row.result,
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines += ["", "## Rows covered elsewhere or not applicable", "", "| row | where |"]
    lines += ["| --- | --- |"] + [f"| {row} | {where} |" for row, where in _ROWS_ELSEWHERE]
    Path(path).write_text(_MATRIX_HEADER + "\n".join(lines) + "\n")
