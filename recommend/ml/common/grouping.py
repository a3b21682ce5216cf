"""Near-copies stay on one side of a split: products are grouped by their normalised title.

A shop lists the same product several times (sizes, colours, re-imports, sellers); with a split by product, about
40 % of held-out titles appear word for word in training and the held-out figure measures memory, not learning.
Membership is a stable hash of the normalised title (lowercase, every run of punctuation and whitespace one space,
digits kept), so every product with that title lands on the same side in every run. Plain Python, no Django.
"""

import re
import zlib
from collections.abc import Sequence

_NOT_WORD = re.compile(r"[\W_]+")


def normalised_title(title: str) -> str:
    """'Nike  Air-Max 90 (Black)' -> 'nike air max 90 black': case, punctuation and spacing ignored, digits kept."""
    return _NOT_WORD.sub(" ", (title or "").casefold()).strip()


def title_bucket(title: str) -> int:
    """0..99 from a stable hash of the normalised title: the same for every near-copy, in every run."""
    return zlib.crc32(normalised_title(title).encode()) % 100


def is_heldout_title(title: str, percent: int = 20) -> bool:
    return title_bucket(title) < percent


def grouped_split(titles: Sequence[str], percent: int = 20) -> tuple[list[int], list[int]]:
    """(train indexes, held-out indexes): about `percent` % held out, whole title groups on one side."""
    train: list[int] = []
    heldout: list[int] = []
    for index, title in enumerate(titles):
        (heldout if is_heldout_title(title, percent) else train).append(index)
    return train, heldout
