"""Sequence data preparation: item vocabularies, the leave-one-out split and padded batches.

Items are indexes 1..n_items so that 0 can pad; callers map their own ids through `ItemVocabulary`.
"""

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

PAD = 0


@dataclass
class ItemVocabulary:
    """Maps external item ids (product ids, ASINs) to 1..n and back."""

    ids: list[Hashable]

    def __post_init__(self) -> None:
        self.index_of = {item: position + 1 for position, item in enumerate(self.ids)}

    @classmethod
    def from_sequences(
        cls, sequences: Iterable[Sequence[Hashable]], extra: Iterable[Hashable] = ()
    ) -> "ItemVocabulary":
        seen: dict[Hashable, None] = {}
        for sequence in sequences:
            seen.update(dict.fromkeys(sequence))
        seen.update(dict.fromkeys(extra))
        return cls(ids=list(seen))

    @property
    def size(self) -> int:
        return len(self.ids)

    def encode(self, sequence: Iterable[Hashable]) -> list[int]:
        """Known items only: an item the model never saw cannot be scored from its history."""
        return [self.index_of[item] for item in sequence if item in self.index_of]

    def decode(self, indexes: Iterable[int]) -> list[Hashable]:
        return [self.ids[index - 1] for index in indexes]


@dataclass(frozen=True)
class LeaveOneOutSplit:
    """Per user: training prefix, validation item (second to last) and test item (last)."""

    train: list[list[int]]
    valid_target: np.ndarray
    test_target: np.ndarray

    def valid_histories(self) -> list[list[int]]:
        return self.train

    def test_histories(self) -> list[list[int]]:
        return [[*train, int(valid)] for train, valid in zip(self.train, self.valid_target, strict=True)]


def leave_one_out(sequences: Sequence[Sequence[int]]) -> LeaveOneOutSplit:
    """Split time-ordered sequences (at least 3 items each) by time, the SASRec / RecBole protocol."""
    kept = [list(sequence) for sequence in sequences if len(sequence) >= 3]
    return LeaveOneOutSplit(
        train=[sequence[:-2] for sequence in kept],
        valid_target=np.array([sequence[-2] for sequence in kept], dtype=np.int64),
        test_target=np.array([sequence[-1] for sequence in kept], dtype=np.int64),
    )


def pad_right(histories: Sequence[Sequence[int]], max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The last `max_length` items of each history, padded on the right to the batch's longest.

    Returns (items, lengths). Right padding keeps position embeddings counted from the start, the
    same for a training prefix and for a live history, and a causal mask keeps pads out of reach.
    """
    cut = [list(history)[-max_length:] for history in histories]
    lengths = torch.tensor([max(len(history), 1) for history in cut], dtype=torch.long)
    width = int(lengths.max()) if len(cut) else 1
    items = torch.zeros((len(cut), width), dtype=torch.long)
    for row, history in enumerate(cut):
        if history:
            items[row, : len(history)] = torch.tensor(history, dtype=torch.long)
    return items, lengths


def training_windows(sequences: Sequence[Sequence[int]], max_length: int) -> list[list[int]]:
    """Windows of up to max_length + 1 items (inputs plus the shifted targets) covering each sequence.

    A long sequence yields several windows so its early items are trained on too, not only its tail.
    """
    windows: list[list[int]] = []
    for sequence in sequences:
        sequence = list(sequence)
        if len(sequence) < 2:
            continue
        end = len(sequence)
        while end > 1:
            windows.append(sequence[max(0, end - max_length - 1) : end])
            end -= max_length
    return windows


def item_popularity(sequences: Iterable[Sequence[int]], n_items: int) -> np.ndarray:
    """Interaction count of each item index (index 0, the pad, stays 0)."""
    counts = np.zeros(n_items + 1, dtype=np.float64)
    for sequence in sequences:
        np.add.at(counts, np.asarray(sequence, dtype=np.int64), 1.0)
    return counts
