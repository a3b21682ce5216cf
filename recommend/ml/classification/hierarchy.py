"""Taxonomy bookkeeping for the hierarchical classifier.

A taxonomy is given as the set of known category paths (tuples of names,
root first).  Each level ``k`` gets one softmax head whose classes are the
distinct path *prefixes* of length ``k + 1``; using prefixes rather than bare
names keeps e.g. ``Men > Shoes`` and ``Women > Shoes`` apart.  Paths may have
different depths: a level where some path stops gets an extra ``END`` class so
that "stop here" competes with "go deeper" instead of being free.

Decoding scores every known path as the sum of its per-level log-probs, so a
prediction is always a real path of the tree (exact search over the valid
paths; with a few thousand leaves this is one gather per level).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

IGNORE = -100  # torch's CrossEntropyLoss ignore_index


@dataclass
class HierarchyLabels:
    """Per-level class indices for a fixed set of valid category paths."""

    paths: list[tuple[str, ...]]
    depth: int = field(init=False)
    nodes: list[list[tuple[str, ...]]] = field(init=False)
    node_index: list[dict[tuple[str, ...], int]] = field(init=False)
    end_index: list[int | None] = field(init=False)
    path_table: np.ndarray = field(init=False)  # (P, depth), -1 = level unused

    def __post_init__(self) -> None:
        self.paths = sorted({tuple(p) for p in self.paths if len(p) > 0})
        if not self.paths:
            raise ValueError("at least one non-empty category path is required")
        self.depth = max(len(p) for p in self.paths)
        self.nodes = [sorted({p[: k + 1] for p in self.paths if len(p) > k}) for k in range(self.depth)]
        self.node_index = [{n: i for i, n in enumerate(level)} for level in self.nodes]
        self.end_index = [
            len(self.nodes[k]) if any(len(p) == k for p in self.paths) else None for k in range(self.depth)
        ]
        self.path_table = np.array([self._targets(p) for p in self.paths], dtype=np.int64)
        self.path_table[self.path_table == IGNORE] = -1
        self._path_index = {p: i for i, p in enumerate(self.paths)}

    @classmethod
    def from_paths(cls, paths: list[tuple[str, ...]]) -> HierarchyLabels:
        return cls(list(paths))

    @property
    def num_classes(self) -> list[int]:
        return [len(n) + (e is not None) for n, e in zip(self.nodes, self.end_index, strict=False)]

    def path_id(self, path: tuple[str, ...]) -> int:
        return self._path_index[tuple(path)]

    def _targets(self, path: tuple[str, ...]) -> list[int]:
        out: list[int] = []
        for k in range(self.depth):
            if k < len(path):
                out.append(self.node_index[k][tuple(path[: k + 1])])
            elif k == len(path):
                end = self.end_index[k]
                assert end is not None
                out.append(end)
            else:
                out.append(IGNORE)
        return out

    def targets(self, paths: list[tuple[str, ...]]) -> np.ndarray:
        """(N, depth) class index per level; IGNORE below a path's END."""
        return np.array([self._targets(tuple(p)) for p in paths], dtype=np.int64).reshape(len(paths), self.depth)

    def class_counts(self, paths: list[tuple[str, ...]]) -> list[np.ndarray]:
        tgt = self.targets(paths)
        return [np.bincount(tgt[:, k][tgt[:, k] >= 0], minlength=n) for k, n in enumerate(self.num_classes)]

    def child_mask(self, level: int) -> np.ndarray:
        """Bool (classes at level-1, classes at level): which children are valid.

        Not needed by the exact path decoder, but handy for callers that want
        greedy parent-masked decoding or to display the tree.
        """
        if level <= 0 or level >= self.depth:
            raise ValueError("level must be in 1..depth-1")
        mask = np.zeros((self.num_classes[level - 1], self.num_classes[level]), dtype=bool)
        for row in self.path_table:
            parent, child = row[level - 1], row[level]
            if parent >= 0 and child >= 0:
                mask[parent, child] = True
        return mask
