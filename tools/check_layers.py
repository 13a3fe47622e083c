#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fails if an #include reaches up the layer stack (docs/architecture.md).

Layers, bottom up: protocol < net < routing < engine < value < client. A layer
includes only itself and the layers it is allowed to use:

  protocol  protocol
  net       protocol, net
  routing   protocol, net, routing
  engine    protocol, net, routing, engine
  value     protocol, value             (never engine, routing or net: no I/O)
  client    everything in src/          (src/*.cpp and include/fastmc/)

Also rejected:
  - include/fastmc/ including an internal "layer/..." header: the public API
    must compile with include/ alone on the include path;
  - python/ext/ including a layer header other than "value/...": the binding
    sees the public API and the value layer, nothing of the engine;
  - src/ or include/ including python/ext, nanobind or Python.h: the core
    knows no Python.

The CMake targets enforce the same order at link time, but only for symbols
that are used; this catches an upward include even when nothing is called.

Usage: tools/check_layers.py [--root DIR]   (exit 1 and one line per offence)
"""

from __future__ import annotations

import argparse
import posixpath
import re
import sys
from pathlib import Path

LAYERS = ("protocol", "net", "routing", "engine", "value")

ALLOWED: dict[str, frozenset[str]] = {
    "protocol": frozenset({"protocol"}),
    "net": frozenset({"protocol", "net"}),
    "routing": frozenset({"protocol", "net", "routing"}),
    "engine": frozenset({"protocol", "net", "routing", "engine"}),
    "value": frozenset({"protocol", "value"}),
    "client": frozenset(LAYERS),
    "public": frozenset(),
    "ext": frozenset({"value"}),
}

SOURCE_SUFFIXES = {".hpp", ".cpp", ".h", ".cc", ".hh", ".ipp", ".inl"}

# Matches `#include "x"` and `#include <x>`, with any spacing after '#'.
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(relative: str) -> str | None:
    """The layer a repository file belongs to, or None if it is not checked."""
    parts = relative.split("/")
    if parts[0] == "src":
        if len(parts) == 2:
            return "client"  # src/client.cpp, src/error.cpp, ...
        return parts[1]  # may be an unknown folder: reported by check_file
    if parts[:2] == ["include", "fastmc"]:
        return "public"
    if parts[:2] == ["python", "ext"]:
        return "ext"
    return None


def strip_comments(text: str) -> str:
    """Blanks out /* */ comments, keeping newlines so line numbers hold."""
    return re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)


def target_of(root: Path, relative: str, bracket: str, name: str) -> str | None:
    """What an include names: a layer, 'ext', 'public', 'python', or None (outside)."""
    if name.startswith(("nanobind/", "Python.h")):
        return "python"
    if name.startswith("fastmc/"):
        return "public"
    if name.startswith("."):
        # Relative to the including file: resolve it inside the repository.
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(relative), name))
        return layer_of(resolved) if not resolved.startswith("..") else None
    if "python/ext/" in name or name.startswith("ext/"):
        return "ext"
    first = name.split("/", 1)[0]
    # <net/if.h> is a system header: an angle include is ours only if the file exists.
    ours = bracket == '"' or (root / "src" / name).exists()
    return first if first in LAYERS and "/" in name and ours else None


def check_file(root: Path, path: Path) -> list[str]:
    relative = path.relative_to(root).as_posix()
    layer = layer_of(relative)
    if layer is None:
        return []
    if layer not in ALLOWED:
        return [f"{relative}:1: src/{layer}/ is not a layer (known: {', '.join(LAYERS)})"]
    offences = []
    text = strip_comments(path.read_text(encoding="utf-8", errors="replace"))
    for number, line in enumerate(text.splitlines(), start=1):
        match = INCLUDE.match(line)
        if not match:
            continue
        bracket, name = match.groups()
        target = target_of(root, relative, bracket, name)
        if target is None or target == layer:
            continue
        shown = f"<{name}>" if bracket == "<" else f'"{name}"'
        if target == "python":
            if layer != "ext":
                offences.append(f"{relative}:{number}: {shown}: the core must not know Python")
        elif target == "ext":
            offences.append(f"{relative}:{number}: {shown}: python/ext is included by nothing")
        elif target == "public":
            continue  # the public API is the top of the stack; everyone may use it
        elif target not in ALLOWED[layer]:
            offences.append(f"{relative}:{number}: {shown}: {describe(layer, target)}")
    return offences


def describe(layer: str, target: str) -> str:
    if layer == "public":
        return "include/fastmc/ may include only <fastmc/...> and system headers"
    if layer == "ext":
        return "python/ext may include only <fastmc/...> and value/ headers"
    return f"the {layer} layer must not include the {target} layer"


def check_tree(root: Path) -> list[str]:
    offences: list[str] = []
    for top in ("src", "include/fastmc", "python/ext"):
        base = root / top
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and path.suffix in SOURCE_SUFFIXES:
                offences.extend(check_file(root, path))
    return offences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="repository root (default: this script's repository)",
    )
    args = parser.parse_args(argv)
    offences = check_tree(args.root.resolve())
    for offence in offences:
        print(offence)
    if offences:
        print(f"check_layers: {len(offences)} upward include(s); see docs/architecture.md")
        return 1
    print("check_layers: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
