# SPDX-License-Identifier: MIT
"""tools/check_layers.py on small fake trees: each rule fails on its offence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "check_layers.py"

# A tree whose every include points down or sideways, plus system headers
# that look like layer names (<net/if.h>).
CLEAN_TREE = {
    "src/protocol/reply.hpp": "#include <cstdint>\n",
    "src/net/connection.hpp": '#include <net/if.h>\n#include "protocol/reply.hpp"\n',
    "src/routing/router.hpp": '#include "net/connection.hpp"\n',
    "src/engine/batch.cpp": '#include "engine/batch.hpp"\n#include "routing/router.hpp"\n',
    "src/engine/batch.hpp": '#include "net/connection.hpp"\n',
    "src/value/flags_scheme.cpp": '#include "protocol/reply.hpp"\n#include <zlib.h>\n',
    "src/client.cpp": '#include <fastmc/client.hpp>\n#include "engine/batch.hpp"\n'
    '#include "value/flags_scheme.hpp"\n',
    "include/fastmc/client.hpp": "#include <fastmc/options.hpp>\n#include <string>\n",
    "python/ext/module.cpp": "#include <nanobind/nanobind.h>\n#include <fastmc/client.hpp>\n"
    '#include "value/flags_scheme.hpp"\n#include "client_binding.hpp"\n',
    # Commented-out includes are not includes.
    "src/protocol/key.cpp": '/* #include "engine/batch.hpp" */\n#include "protocol/key.hpp"\n',
}


def run_check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )


def make_tree(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_clean_tree_passes(tmp_path: Path) -> None:
    make_tree(tmp_path, CLEAN_TREE)
    result = run_check(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "check_layers: ok" in result.stdout


@pytest.mark.parametrize(
    ("relative", "text", "expected"),
    [
        # A lower layer including a higher one.
        ("src/protocol/text_reply_parser.cpp", '#include "net/socket.hpp"\n', "protocol layer"),
        ("src/net/socket.cpp", '\n#include "engine/server.hpp"\n', "net layer"),
        ("src/routing/ketama.cpp", '#include "engine/batch.hpp"\n', "routing layer"),
        ("src/engine/server.cpp", '#include "value/flags_scheme.hpp"\n', "engine layer"),
        # value sits above engine but does no I/O: net, routing, engine are off limits.
        ("src/value/compression.cpp", '#include "net/connection.hpp"\n', "value layer"),
        ("src/value/compression.cpp", '#  include "engine/batch.hpp"\n', "value layer"),
        # Reaching up through a relative path is still reaching up.
        ("src/net/address.cpp", '#include "../engine/server.hpp"\n', "net layer"),
        # The public API must not expose internal headers.
        ("include/fastmc/result.hpp", '#include "protocol/reply.hpp"\n', "include/fastmc/"),
        # The binding sees the public API and value/, not the engine.
        ("python/ext/client_binding.cpp", '#include "engine/batch.hpp"\n', "python/ext"),
        # Nothing in the core includes the binding or Python.
        ("src/client.cpp", '#include "python/ext/value_objects.hpp"\n', "python/ext"),
        ("src/engine/batch.cpp", "#include <nanobind/nanobind.h>\n", "Python"),
        # A folder that is no layer is reported, not silently skipped.
        ("src/utils/strings.cpp", "#include <string>\n", "not a layer"),
    ],
)
def test_offence_fails_with_location(
    tmp_path: Path, relative: str, text: str, expected: str
) -> None:
    make_tree(tmp_path, {**CLEAN_TREE, relative: text})
    result = run_check(tmp_path)
    assert result.returncode == 1, result.stdout
    offences = [line for line in result.stdout.splitlines() if line.startswith(relative + ":")]
    assert len(offences) == 1, result.stdout
    assert expected in offences[0]
    line = next(n for n, src in enumerate(text.splitlines(), 1) if src.strip())
    assert offences[0].startswith(f"{relative}:{line}:")
