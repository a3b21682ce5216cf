"""How a similar-items build does on the shop's own held-out behaviour: the hybrid lists against content only.

The signal that is honest and cheap here is the next product a shopper went to. Each visitor's last step (the
product before it -> the last product) is held out; co-occurrence is learned again from every sequence without
its last product, the hybrid lists are merged from that and the build's content lists, and each held-out step
scores 1 when the last product is in the previous product's list (hit@k, k = SIMILAR_TOP_K), for the hybrid and
for content-only cosine (the same content lists, no behaviour). The served hybrid lists learn from all events;
this re-learning keeps the held-out steps out of what is scored.

No evaluation is stored (and no gate applies) with fewer than MIN_CASES held-out steps, or when behaviour
changes none of the held-out products' lists (the hybrid is then the content list itself: nothing to compare).
A category proxy was not used: content lists rank the product's own category first by construction.
"""

from collections.abc import Mapping, Sequence

import numpy as np

from recommend.core.selectors import visitor_sequences
from recommend.ml.common.comparison import Comparison, compare
from recommend.similarity.build import Neighbours, behaviour_lists, hybrid_lists

MIN_CASES = 20
MODEL = "hybrid (content + behaviour)"
BASELINE = "content-only cosine"


def held_out_steps(
    product_ids: set[int], sequences: Mapping[str, list[int]] | None = None
) -> tuple[list[tuple[int, int]], list[list[int]]]:
    """([(previous product, last product)] per visitor, the sequences without their last product)."""
    steps, truncated = [], []
    for sequence in (visitor_sequences() if sequences is None else sequences).values():
        listed = [pk for pk in sequence if pk in product_ids]
        if len(listed) < 2:
            continue
        truncated.append(listed[:-1])
        if listed[-2] != listed[-1]:
            steps.append((listed[-2], listed[-1]))
    return steps, truncated


def hits(lists: Mapping[int, Sequence[tuple]], steps: Sequence[tuple[int, int]], k: int) -> np.ndarray:
    return np.array([float(last in [n[0] for n in lists.get(prev, [])[:k]]) for prev, last in steps])


def hybrid_against_content(content: Neighbours, product_ids: set[int], k: int) -> Comparison | None:
    """The paired hit@k of the hybrid vs content-only on the held-out last steps; None when not measurable."""
    steps, truncated = held_out_steps(product_ids)
    if len(steps) < MIN_CASES:
        return None
    behaviour, weak = behaviour_lists(product_ids, k, sequences=truncated)
    hybrid = hybrid_lists(content, behaviour, k, weak)
    previous = {prev for prev, _ in steps}
    if all([n[0] for n in hybrid.get(pk, [])[:k]] == [n[0] for n in content.get(pk, [])[:k]] for pk in previous):
        return None
    return compare(
        metric=f"hit@{k}",
        model=MODEL,
        model_scores=hits(hybrid, steps, k),
        baselines={BASELINE: hits(content, steps, k)},
        unit="visitors",
    )


def similar_cases_label(comparison: Comparison) -> str:
    return f"the last step of {comparison.cases:,} of your visitors"
