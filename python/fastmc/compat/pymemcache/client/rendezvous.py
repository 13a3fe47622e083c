# SPDX-License-Identifier: MIT
"""pymemcache.client.rendezvous: the highest-random-weight node chooser.

HashClient routes natively with the same rule (routing.md: rendezvous); this
class is the Python one, for code that uses a RendezvousHash directly or
passes it as HashClient's ``hasher``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastmc.compat.pymemcache.client.murmur3 import murmur3_32


class RendezvousHash:
    """Nodes scored by ``hash_function(f"{node}-{key}")``; the highest wins,
    a tie goes to the larger ``str(node)``."""

    def __init__(
        self,
        nodes: list[Any] | None = None,
        seed: int = 0,
        hash_function: Callable[[str, int], int] = murmur3_32,
    ) -> None:
        self.nodes: list[Any] = nodes if nodes is not None else []
        self.seed = seed
        self.hash_function = lambda text: hash_function(text, seed)

    def add_node(self, node: Any) -> None:
        if node not in self.nodes:
            self.nodes.append(node)

    def remove_node(self, node: Any) -> None:
        if node not in self.nodes:
            raise ValueError(f"No such node {node} to remove")
        self.nodes.remove(node)

    def get_node(self, key: Any) -> Any:
        best_score = -1
        winner = None
        for node in self.nodes:
            score = self.hash_function(f"{node}-{key}")
            if score > best_score:
                best_score, winner = score, node
            elif score == best_score:
                winner = max(str(node), str(winner))
        return winner


__all__ = ["RendezvousHash"]
