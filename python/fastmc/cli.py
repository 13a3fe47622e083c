# SPDX-License-Identifier: MIT
"""The ``fastmc`` command line (also ``python -m fastmc``).

    fastmc [--servers A,B] [--timeout S] [connection options] get KEY...
    fastmc set KEY VALUE [--ttl N]        VALUE "-" reads bytes from stdin
    fastmc delete KEY... | incr KEY [DELTA] | decr KEY [DELTA] | touch KEY TTL
    fastmc stats [ARGS...] | flush [--delay N] | version
    fastmc bench [--workloads a,b] [--duration S] [--value-size N] [--batch N] [--pin] [--json]

Connection options (before the command): ``--protocol meta|text|binary``,
``--distribution``, ``--hash``, ``--username``/``--password`` (default
``FASTMC_USERNAME``/``FASTMC_PASSWORD``), and ``--tls`` with
``--tls-ca-file``, ``--tls-cert-file``, ``--tls-key-file``,
``--tls-server-name``, ``--tls-no-verify``.

Servers come from ``--servers`` or ``FASTMC_SERVERS`` (comma-separated). With
neither, the command starts a temporary memcached through fastmc.testing, says
so on stderr, and stops it on exit, so every command (``bench`` above all)
works on a fresh machine.

Exit status: 0 on success; 1 when the one key asked for is missing (get, incr,
decr, touch) or any key to delete was missing; 2 on an error, reported as one
line naming the server and the cause; 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

PROGRAM = "fastmc"
SERVERS_VARIABLE = "FASTMC_SERVERS"
USERNAME_VARIABLE = "FASTMC_USERNAME"
PASSWORD_VARIABLE = "FASTMC_PASSWORD"

WORKLOADS = (
    "set",
    "get_hit",
    "get_miss",
    "incr",
    "delete",
    "get_many",
    "set_many",
    "large_set_get_100k",
    "large_set_get_900k",
)
_LARGE_VALUE_SIZES = {"large_set_get_100k": 100 * 1024, "large_set_get_900k": 900 * 1024}
_BATCH_WORKLOADS = ("get_many", "set_many")
# Single-key workloads cycle over this many keys: enough to leave the server's
# hash table warm, few enough to set up in a blink.
_KEY_COUNT = 1000
# How often the progress line is redrawn, in seconds.
_PROGRESS_INTERVAL = 0.1


class CommandError(Exception):
    """An expected failure of a command: printed as one line, exit status 2."""


# -- argument parsing ----------------------------------------------------------------


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def _workload_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown workload(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(WORKLOADS)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``fastmc`` command."""
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="A memcached command line client and benchmark, built on fastmc.",
        epilog=(
            f"Without --servers or {SERVERS_VARIABLE}, a temporary memcached is started "
            "for the command and stopped afterwards."
        ),
    )
    parser.add_argument(
        "--servers",
        default=os.environ.get(SERVERS_VARIABLE),
        help=f"comma-separated servers, e.g. 127.0.0.1:11211,unix:/run/mc.sock "
        f"(default: ${SERVERS_VARIABLE})",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=1.0,
        help="seconds allowed for each call and each connect (default: 1)",
    )
    _add_connection_arguments(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    get = commands.add_parser("get", help="print the values of keys")
    get.add_argument("keys", nargs="+", metavar="KEY")

    set_ = commands.add_parser("set", help="store a value")
    set_.add_argument("key", metavar="KEY")
    set_.add_argument(
        "value", metavar="VALUE", help='the value as text; "-" reads bytes from stdin'
    )
    set_.add_argument("--ttl", type=_non_negative_int, default=0, help="seconds (0: no expiry)")

    delete = commands.add_parser("delete", help="delete keys")
    delete.add_argument("keys", nargs="+", metavar="KEY")

    for name, verb in (("incr", "add"), ("decr", "subtract")):
        counter = commands.add_parser(name, help=f"{verb} DELTA to a counter and print it")
        counter.add_argument("key", metavar="KEY")
        counter.add_argument("delta", nargs="?", type=_non_negative_int, default=1, metavar="DELTA")

    touch = commands.add_parser("touch", help="set a key's ttl")
    touch.add_argument("key", metavar="KEY")
    touch.add_argument("ttl", type=_non_negative_int, metavar="TTL")

    stats = commands.add_parser("stats", help="print server statistics")
    stats.add_argument("args", nargs="*", metavar="ARGS", help="e.g. items, slabs, settings")
    stats.add_argument("--json", action="store_true", help="print JSON")

    flush = commands.add_parser("flush", help="invalidate every item")
    flush.add_argument("--delay", type=_non_negative_int, default=0, help="seconds to wait first")

    commands.add_parser("version", help="print each server's version")

    bench = commands.add_parser("bench", help="measure throughput and latency")
    bench.add_argument(
        "--workloads",
        type=_workload_list,
        default=list(WORKLOADS),
        help=f"comma-separated subset of {','.join(WORKLOADS)} (default: all)",
    )
    bench.add_argument(
        "--duration", type=_positive_float, default=2.0, help="seconds per workload (default: 2)"
    )
    bench.add_argument(
        "--value-size", type=_non_negative_int, default=100, help="value bytes (default: 100)"
    )
    bench.add_argument(
        "--batch", type=_positive_int, default=100, help="keys per get_many/set_many (default: 100)"
    )
    bench.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pin this process and the memcached it starts to one CPU "
        "(default: on when it starts its own server)",
    )
    bench.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser


def _add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """How the client talks to the servers: protocol, placement, credentials, TLS.

    Credentials default to environment variables so that a password need not
    appear in the process list. A server given as ``tls://user:pass@host:port``
    carries its own TLS and credentials, which these flags do not override.
    """
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--protocol",
        choices=("meta", "text", "binary"),
        default="meta",
        help="meta (default: memcached 1.6's meta commands, text where a server lacks them), "
        "text, or binary",
    )
    group.add_argument(
        "--distribution",
        default="modula",
        help="how keys are placed on several servers: modula (default), ketama, "
        "ketama_weighted, libmc, rendezvous, python_memcached",
    )
    group.add_argument(
        "--hash",
        default="",
        help="key hash: one_at_a_time, md5, crc, fnv1a_32, murmur, ... "
        "(default: the distribution's own)",
    )
    group.add_argument(
        "--username",
        default=os.environ.get(USERNAME_VARIABLE, ""),
        help="SASL (binary) or memcached -Y (text, meta) user name "
        f"(default: ${USERNAME_VARIABLE})",
    )
    group.add_argument(
        "--password",
        default=os.environ.get(PASSWORD_VARIABLE, ""),
        help=f"the password (default: ${PASSWORD_VARIABLE}, which keeps it out of ps)",
    )
    group.add_argument("--tls", action="store_true", help="connect with TLS")
    group.add_argument(
        "--tls-ca-file",
        default="",
        help="CA certificates (PEM) to verify servers with (default: the system's)",
    )
    group.add_argument("--tls-cert-file", default="", help="client certificate (PEM)")
    group.add_argument("--tls-key-file", default="", help="client private key (PEM)")
    group.add_argument(
        "--tls-server-name",
        default="",
        help="name to verify and send as SNI (default: each server's host)",
    )
    group.add_argument(
        "--tls-no-verify",
        action="store_true",
        help="accept any server certificate (insecure: for testing only)",
    )


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    """fastmc.Client keyword arguments from the command line."""
    options: dict[str, Any] = {
        "timeout": args.timeout,
        "connect_timeout": args.timeout,
        "protocol": args.protocol,
        "distribution": args.distribution,
        "hash": args.hash,
        "username": args.username,
        "password": args.password,
    }
    tls_flags = (args.tls_ca_file, args.tls_cert_file, args.tls_key_file, args.tls_server_name)
    if (any(tls_flags) or args.tls_no_verify) and not args.tls:
        raise CommandError(
            "--tls-ca-file, --tls-cert-file, --tls-key-file, --tls-server-name and "
            "--tls-no-verify need --tls"
        )
    if args.tls:
        options.update(
            tls=True,
            tls_ca_file=args.tls_ca_file,
            tls_cert_file=args.tls_cert_file,
            tls_key_file=args.tls_key_file,
            tls_server_name=args.tls_server_name,
            tls_verify=not args.tls_no_verify,
        )
    return options


# -- entry point -------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        # Imported here so that --help works even where the native module does not.
        from fastmc import errors
    except ImportError as error:
        _print_error(f"cannot import the fastmc native module: {error}")
        return 2
    from fastmc.testing import MemcachedNotFoundError, MemcachedStartError

    try:
        return _run(args)
    except errors.Error as error:
        _print_error(_describe_error(error))
    except (CommandError, MemcachedNotFoundError, MemcachedStartError) as error:
        _print_error(str(error))
    except BrokenPipeError:
        # The reader went away (| head): not our error; keep Python from complaining at exit.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 1
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError) as error:
        _print_error(str(error) or type(error).__name__)
    return 2


def _describe_error(error: Exception) -> str:
    """One line naming the server and the cause of a fastmc.errors.Error."""
    message = str(error) or type(error).__name__
    server = getattr(error, "server", None)
    cause = getattr(error, "cause", None)
    if server and server not in message:
        message = f"{server}: {message}"
    if cause and cause not in message:
        message = f"{message} ({cause})"
    return message


def _print_error(message: str) -> None:
    print(f"{PROGRAM}: error: {message}", file=sys.stderr)


def _note(message: str) -> None:
    print(f"{PROGRAM}: {message}", file=sys.stderr)


@contextlib.contextmanager
def _server_addresses(
    args: argparse.Namespace, cpu: int | None
) -> Iterator[tuple[list[str], bool]]:
    """Yields (addresses, started_here): the given servers, or one temporary memcached."""
    from fastmc.testing import MemcachedServer, parse_server_list

    addresses = parse_server_list(args.servers or "")
    if addresses:
        yield addresses, False
        return
    with MemcachedServer(cpu=cpu, memory_mb=256) as server:
        pinned = f", pinned to CPU {cpu}" if cpu is not None else ""
        _note(
            f"no --servers or {SERVERS_VARIABLE} given: started a temporary memcached at "
            f"{server.address} (pid {server.pid}{pinned}); it stops when this command ends"
        )
        yield [server.address], True


def _run(args: argparse.Namespace) -> int:
    from fastmc.testing import parse_server_list

    cpu = None
    if args.command == "bench":
        starts_own_server = not parse_server_list(args.servers or "")
        if args.pin if args.pin is not None else starts_own_server:
            cpu = _pin_this_process()
    with _server_addresses(args, cpu) as (addresses, started_here):
        import fastmc

        client = fastmc.Client(addresses, **_client_options(args))
        try:
            if args.command == "bench":
                return _bench(client, args, addresses, started_here, cpu)
            return _COMMANDS[args.command](client, args)
        finally:
            client.close()


# -- simple commands -----------------------------------------------------------------


def _write_value(value: object, *, with_newline: bool) -> None:
    """bytes go out raw (a newline is added only on a terminal), str as text, others as repr."""
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        if with_newline or (sys.stdout.isatty() and not data.endswith(b"\n")):
            data += b"\n"
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    elif isinstance(value, str):
        sys.stdout.write(value + "\n")
    else:
        sys.stdout.write(repr(value) + "\n")


def _command_get(client: Any, args: argparse.Namespace) -> int:
    if len(args.keys) == 1:
        missing = object()
        value = client.get(args.keys[0], missing)
        if value is missing:
            _note(f"{args.keys[0]}: not found")
            return 1
        _write_value(value, with_newline=False)
        return 0
    hits = client.get_many(args.keys)
    for key in args.keys:
        if key in hits:
            sys.stdout.write(f"{key} ")
            _write_value(hits[key], with_newline=True)
        else:
            _note(f"{key}: not found")
    return 0


def _command_set(client: Any, args: argparse.Namespace) -> int:
    value: str | bytes = sys.stdin.buffer.read() if args.value == "-" else args.value
    client.set(args.key, value, ttl=args.ttl)
    return 0


def _command_delete(client: Any, args: argparse.Namespace) -> int:
    status = 0
    for key in args.keys:
        if not client.delete(key):
            _note(f"{key}: not found")
            status = 1
    return status


def _command_counter(client: Any, args: argparse.Namespace) -> int:
    operation = client.incr if args.command == "incr" else client.decr
    value = operation(args.key, args.delta)
    if value is None:
        _note(f"{args.key}: not found")
        return 1
    print(value)
    return 0


def _command_touch(client: Any, args: argparse.Namespace) -> int:
    if not client.touch(args.key, args.ttl):
        _note(f"{args.key}: not found")
        return 1
    return 0


def _command_stats(client: Any, args: argparse.Namespace) -> int:
    stats = client.stats(*args.args)
    if args.json:
        json.dump(stats, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for server, values in stats.items():
        print(server)
        width = max((len(str(name)) for name in values), default=0)
        for name, value in values.items():
            print(f"  {name:<{width}}  {value}")
    return 0


def _command_flush(client: Any, args: argparse.Namespace) -> int:
    client.flush_all(args.delay)
    return 0


def _command_version(client: Any, args: argparse.Namespace) -> int:
    for server, version in client.version().items():
        print(f"{server} {version}")
    return 0


_COMMANDS: dict[str, Callable[[Any, argparse.Namespace], int]] = {
    "get": _command_get,
    "set": _command_set,
    "delete": _command_delete,
    "incr": _command_counter,
    "decr": _command_counter,
    "touch": _command_touch,
    "stats": _command_stats,
    "flush": _command_flush,
    "version": _command_version,
}


# -- bench -----------------------------------------------------------------------------


def _pin_this_process() -> int:
    """Pins the calling thread (and threads it starts later) to one CPU; returns the CPU.

    On a small machine a wake-up across CPUs costs tens of µs per round trip,
    more than the call itself, so the client and the memcached it talks to
    share one CPU. The highest allowed CPU is taken, away from CPU 0's interrupts.
    """
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


@dataclass
class WorkloadResult:
    """What one workload measured."""

    workload: str
    calls: int
    keys: int
    seconds: float
    # Per-call latencies in nanoseconds, sorted.
    latencies: array

    @property
    def ops_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0

    @property
    def keys_per_second(self) -> float | None:
        """Keys per second for batch workloads, None for single-key ones."""
        if self.workload not in _BATCH_WORKLOADS:
            return None
        return self.keys / self.seconds if self.seconds > 0 else 0.0

    def percentile_us(self, fraction: float) -> float:
        """The nearest-rank percentile of the call latencies, in microseconds."""
        if not self.latencies:
            return 0.0
        rank = max(1, math.ceil(fraction * len(self.latencies)))
        return self.latencies[rank - 1] / 1000.0

    def as_json(self) -> dict[str, object]:
        return {
            "workload": self.workload,
            "calls": self.calls,
            "keys": self.keys,
            "seconds": round(self.seconds, 6),
            "ops_per_sec": round(self.ops_per_second, 1),
            "keys_per_sec": None
            if self.keys_per_second is None
            else round(self.keys_per_second, 1),
            "p50_us": round(self.percentile_us(0.50), 2),
            "p99_us": round(self.percentile_us(0.99), 2),
        }


class _Progress:
    """Progress on stderr: a redrawn bar on a terminal, else one line per workload."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._interactive = stream.isatty()
        self._width = 0

    def update(self, workload: str, fraction: float, calls: int, elapsed: float) -> None:
        if not self._interactive:
            return
        filled = int(30 * min(fraction, 1.0))
        rate = calls / elapsed if elapsed > 0 else 0.0
        line = (
            f"{workload:<20} [{'#' * filled}{'.' * (30 - filled)}] "
            f"{100 * min(fraction, 1.0):3.0f}%  {rate:>12,.0f} calls/s"
        )
        self._width = max(self._width, len(line))
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()

    def abort(self) -> None:
        """Ends a half-drawn progress line so an error message starts on its own line."""
        if self._interactive and self._width:
            self._stream.write("\n")
            self._stream.flush()

    def finish(self, result: WorkloadResult) -> None:
        if self._interactive:
            self._stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        else:
            self._stream.write(
                f"{PROGRAM}: bench: {result.workload}: {result.calls} calls in "
                f"{result.seconds:.2f} s\n"
            )
        self._stream.flush()


class _Meter:
    """Times the calls of one workload and decides when it has run long enough."""

    def __init__(self, workload: str, duration: float, progress: _Progress) -> None:
        self.workload = workload
        self.latencies: array = array("q")
        self.calls = 0
        self._duration_ns = int(duration * 1e9)
        self._progress = progress
        self._untimed_ns = 0
        self._started = time.perf_counter_ns()
        self._next_progress = self._started

    def running(self) -> bool:
        """True while the workload's time (setup pauses excluded) is not used up."""
        now = time.perf_counter_ns()
        elapsed = now - self._started - self._untimed_ns
        if now >= self._next_progress:
            self._next_progress = now + int(_PROGRESS_INTERVAL * 1e9)
            self._progress.update(
                self.workload, elapsed / self._duration_ns, self.calls, elapsed / 1e9
            )
        return elapsed < self._duration_ns

    def record(self, nanoseconds: int) -> None:
        self.latencies.append(nanoseconds)
        self.calls += 1

    @contextlib.contextmanager
    def untimed(self) -> Iterator[None]:
        """A pause for setup work (refilling keys) that does not count as bench time."""
        start = time.perf_counter_ns()
        try:
            yield
        finally:
            self._untimed_ns += time.perf_counter_ns() - start

    def result(self, keys_per_call: int) -> WorkloadResult:
        elapsed = time.perf_counter_ns() - self._started - self._untimed_ns
        return WorkloadResult(
            workload=self.workload,
            calls=self.calls,
            keys=self.calls * keys_per_call,
            seconds=elapsed / 1e9,
            latencies=array("q", sorted(self.latencies)),
        )


def make_value(key: str, size: int) -> bytes:
    """A value of ``size`` bytes derived from ``key``, so a value read for the wrong
    key (or truncated) does not compare equal."""
    if size == 0:
        return b""
    seed = f"{key}|".encode()
    return (seed * (size // len(seed) + 1))[:size]


class _Bench:
    """Runs the workloads against one client; every read checks the value it got."""

    def __init__(self, client: Any, args: argparse.Namespace, progress: _Progress) -> None:
        self._client = client
        self._duration = args.duration
        self._value_size = args.value_size
        self._batch = args.batch
        self._progress = progress
        # Our keys never collide with a user's, or with another bench run.
        self._prefix = f"fastmc-bench:{os.getpid()}:{time.monotonic_ns() % 1_000_000}:"
        self._used_keys: set[str] = set()

    def _keys(self, workload: str, count: int) -> list[str]:
        keys = [f"{self._prefix}{workload}:{index}" for index in range(count)]
        self._used_keys.update(keys)
        return keys

    def _fail(self, workload: str, message: str) -> CommandError:
        return CommandError(f"bench {workload}: {message}")

    def _store(self, workload: str, items: dict[str, bytes]) -> None:
        for start in range(0, len(items), 500):
            chunk = dict(list(items.items())[start : start + 500])
            failed = self._client.set_many(chunk)
            if failed:
                raise self._fail(workload, f"setup could not store {len(failed)} key(s)")

    def run(self, workload: str) -> WorkloadResult:
        meter = _Meter(workload, self._duration, self._progress)
        runner = getattr(self, f"_run_{workload}", None)
        if workload in _LARGE_VALUE_SIZES:
            keys_per_call = self._run_large(meter, _LARGE_VALUE_SIZES[workload])
        else:
            assert runner is not None, workload
            keys_per_call = runner(meter)
        result = meter.result(keys_per_call)
        self._progress.finish(result)
        return result

    def cleanup(self) -> None:
        """Deletes every key the bench wrote (best effort: the numbers are already in)."""
        keys = sorted(self._used_keys)
        with contextlib.suppress(Exception):
            for start in range(0, len(keys), 500):
                self._client.delete_many(keys[start : start + 500])

    # Each _run_* times only the client call; the check of its result comes after.

    def _run_set(self, meter: _Meter) -> int:
        keys = self._keys("set", _KEY_COUNT)
        values = [make_value(key, self._value_size) for key in keys]
        client, clock, count, index = self._client, time.perf_counter_ns, len(keys), 0
        while meter.running():
            key, value = keys[index % count], values[index % count]
            start = clock()
            stored = client.set(key, value)
            meter.record(clock() - start)
            if stored is not True:
                raise self._fail("set", f"set {key!r} returned {stored!r}")
            index += 1
        return 1

    def _run_get_hit(self, meter: _Meter) -> int:
        keys = self._keys("get_hit", _KEY_COUNT)
        values = [make_value(key, self._value_size) for key in keys]
        with meter.untimed():
            self._store("get_hit", dict(zip(keys, values, strict=True)))
        client, clock, count, index = self._client, time.perf_counter_ns, len(keys), 0
        while meter.running():
            key, expected = keys[index % count], values[index % count]
            start = clock()
            value = client.get(key)
            meter.record(clock() - start)
            if value != expected:
                raise self._fail(
                    "get_hit", f"{key!r}: expected {expected[:40]!r}, got {value!r:.80}"
                )
            index += 1
        return 1

    def _run_get_miss(self, meter: _Meter) -> int:
        keys = self._keys("get_miss", _KEY_COUNT)
        with meter.untimed():
            self._client.delete_many(keys)
        client, clock, count, index = self._client, time.perf_counter_ns, len(keys), 0
        missing = object()
        while meter.running():
            key = keys[index % count]
            start = clock()
            value = client.get(key, missing)
            meter.record(clock() - start)
            if value is not missing:
                raise self._fail("get_miss", f"{key!r} should be missing, got {value!r:.80}")
            index += 1
        return 1

    def _run_incr(self, meter: _Meter) -> int:
        (key,) = self._keys("incr", 1)
        with meter.untimed():
            self._client.set(key, b"0")
        client, clock, expected = self._client, time.perf_counter_ns, 0
        while meter.running():
            start = clock()
            value = client.incr(key)
            meter.record(clock() - start)
            expected += 1
            if value != expected:
                raise self._fail("incr", f"{key!r}: expected {expected}, got {value!r}")
        return 1

    def _run_delete(self, meter: _Meter) -> int:
        keys = self._keys("delete", _KEY_COUNT)
        value = make_value("delete", self._value_size)
        client, clock = self._client, time.perf_counter_ns
        while True:
            with meter.untimed():
                self._store("delete", dict.fromkeys(keys, value))
            for key in keys:
                if not meter.running():
                    return 1
                start = clock()
                existed = client.delete(key)
                meter.record(clock() - start)
                if existed is not True:
                    raise self._fail(
                        "delete", f"{key!r} was stored but delete returned {existed!r}"
                    )

    def _batches(self, workload: str) -> list[dict[str, bytes]]:
        """Disjoint batches covering at least _KEY_COUNT keys."""
        batch_count = max(1, math.ceil(_KEY_COUNT / self._batch))
        keys = self._keys(workload, batch_count * self._batch)
        return [
            {key: make_value(key, self._value_size) for key in keys[start : start + self._batch]}
            for start in range(0, len(keys), self._batch)
        ]

    def _run_get_many(self, meter: _Meter) -> int:
        batches = self._batches("get_many")
        with meter.untimed():
            for batch in batches:
                self._store("get_many", batch)
        key_lists = [list(batch) for batch in batches]
        client, clock, count, index = self._client, time.perf_counter_ns, len(batches), 0
        while meter.running():
            keys, expected = key_lists[index % count], batches[index % count]
            start = clock()
            hits = client.get_many(keys)
            meter.record(clock() - start)
            if hits != expected:
                wrong = sorted(key for key in expected if hits.get(key) != expected[key])
                raise self._fail(
                    "get_many",
                    f"{len(wrong)} of {len(keys)} keys wrong or missing, e.g. {wrong[:3]}",
                )
            index += 1
        return self._batch

    def _run_set_many(self, meter: _Meter) -> int:
        batches = self._batches("set_many")
        client, clock, count, index = self._client, time.perf_counter_ns, len(batches), 0
        while meter.running():
            batch = batches[index % count]
            start = clock()
            failed = client.set_many(batch)
            meter.record(clock() - start)
            if failed:
                raise self._fail("set_many", f"{len(failed)} key(s) not stored, e.g. {failed[:3]}")
            index += 1
        return self._batch

    def _run_large(self, meter: _Meter, size: int) -> int:
        workload = meter.workload
        keys = self._keys(workload, 4)
        values = [make_value(key, size) for key in keys]
        client, clock, index = self._client, time.perf_counter_ns, 0
        # One iteration is a set and a get of the same key, timed as two calls.
        while meter.running():
            key, expected = keys[index % len(keys)], values[index % len(keys)]
            start = clock()
            stored = client.set(key, expected)
            middle = clock()
            value = client.get(key)
            end = clock()
            meter.record(middle - start)
            meter.record(end - middle)
            if stored is not True:
                raise self._fail(workload, f"set {key!r} returned {stored!r}")
            if value != expected:
                got = f"{len(value)} bytes" if isinstance(value, bytes) else repr(value)
                raise self._fail(workload, f"{key!r}: expected {size} bytes back, got {got}")
            index += 1
        return 1


def _bench(
    client: Any,
    args: argparse.Namespace,
    addresses: list[str],
    started_here: bool,
    cpu: int | None,
) -> int:
    progress = _Progress(sys.stderr)
    bench = _Bench(client, args, progress)
    results = []
    try:
        for workload in args.workloads:
            results.append(bench.run(workload))
    except BaseException:
        progress.abort()
        raise
    finally:
        if not started_here:
            bench.cleanup()
    if args.json:
        report = {
            "servers": addresses,
            "started_server": started_here,
            "pinned_cpu": cpu,
            "duration": args.duration,
            "value_size": args.value_size,
            "batch": args.batch,
            "verified": True,
            "results": [result.as_json() for result in results],
        }
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_table(results, sys.stdout)
    return 0


def _print_table(results: list[WorkloadResult], stream: TextIO) -> None:
    header = f"{'workload':<20} {'ops/s':>12} {'keys/s':>12} {'p50 µs':>9} {'p99 µs':>9}"
    stream.write(header + "\n")
    for result in results:
        keys = result.keys_per_second
        stream.write(
            f"{result.workload:<20} {result.ops_per_second:>12,.0f} "
            f"{'-' if keys is None else f'{keys:,.0f}':>12} "
            f"{result.percentile_us(0.50):>9.1f} {result.percentile_us(0.99):>9.1f}\n"
        )
