"""Intent-led scoring: what the visitor is looking at now decides which department leads (issue 23).

A history (product ids, oldest first) gives a decaying affinity to departments (the top-level category
of each product's live category path) and to leaf categories: the newest event weighs 1, one `half_life`
events older weighs 0.5, and only the last `window` events count. Every candidate gets one score, in the
model's standard-deviation units:

    score = relevance - untouched_margin * (1 - department share / top share) + category_weight * category share

where relevance is the strongest of three pieces of evidence: the sequential model's score (standardised
over all items, so a variant history is comparable), the content similarity to a recent history item
(`content_scale` x cosine, damped for older items; this is what makes products without behaviour
recommendable), and popularity inside a department the visitor is browsing (for products the model did not
score: between scored products the model's order stands). A product of a department
the visitor never touched pays the whole margin, so it shows only on a large score margin.

Pure Python: the Django side (`ranking.py`) reads the facts and passes them in, so the same function scores
the full history and each occlusion variant (the history with one product removed) alike.
"""

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

NO_EVIDENCE = 0.0  # relevance of a product no source speaks for


@dataclass(frozen=True)
class ItemFacts:
    category_id: int | None
    category_name: str
    department_id: int | None  # the tree id of the category's root
    department_name: str


@dataclass(frozen=True)
class IntentConfig:
    window: int = 20
    half_life: float = 2.0
    untouched_margin: float = 3.0
    category_weight: float = 0.5
    content_scale: float = 5.0
    popular_score: float = 1.0


@dataclass(frozen=True)
class Affinity:
    """Decayed shares of the recent history per department and per leaf category, and each product's recency."""

    departments: dict[int, float] = field(default_factory=dict)
    categories: dict[int, float] = field(default_factory=dict)
    recency: dict[int, float] = field(default_factory=dict)  # product -> weight of its newest event

    def department_factor(self, department: int | None) -> float:
        """1 for the leading department, its share relative to the leader for others, 0 if never touched."""
        if department is None or not self.departments:
            return 0.0
        return self.departments.get(department, 0.0) / max(self.departments.values())

    def category_factor(self, category: int | None) -> float:
        if category is None or not self.categories:
            return 0.0
        return self.categories.get(category, 0.0) / max(self.categories.values())

    def leading_department(self) -> int | None:
        return max(self.departments, key=lambda d: self.departments[d]) if self.departments else None


def affinity(history: Sequence[int], facts: Mapping[int, ItemFacts], config: IntentConfig) -> Affinity:
    """Decaying department and category shares over the last `config.window` events of `history`."""
    departments: dict[int, float] = {}
    categories: dict[int, float] = {}
    recency: dict[int, float] = {}
    recent = list(history)[-config.window :]
    for age, product_id in enumerate(reversed(recent)):
        weight = 0.5 ** (age / config.half_life)
        recency.setdefault(product_id, weight)
        item = facts.get(product_id)
        if item is None:
            continue
        if item.department_id is not None:
            departments[item.department_id] = departments.get(item.department_id, 0.0) + weight
        if item.category_id is not None:
            categories[item.category_id] = categories.get(item.category_id, 0.0) + weight
    for shares in (departments, categories):
        total = sum(shares.values())
        for key in shares:
            shares[key] /= total
    return Affinity(departments, categories, recency)


@dataclass(frozen=True)
class Scored:
    product_id: int
    score: float
    relevance: float
    source: str  # "model", "content", "popular" or "none"
    anchor: int | None = None  # content: the history product it is most similar to


@dataclass
class Evidence:
    """What a history's scores are made of, read once per request.

    `model` maps product id -> standardised model score for this history (empty without a model or without
    known items); `known` holds the products the model has behaviour for; `neighbours` maps a history product to
    its content neighbours (id, cosine); `popular` maps a department to its products, most popular first.
    """

    facts: Mapping[int, ItemFacts]
    model: Mapping[int, float] = field(default_factory=dict)
    neighbours: Mapping[int, Sequence[tuple[int, float]]] = field(default_factory=dict)
    popular: Mapping[int, Sequence[int]] = field(default_factory=dict)
    known: Container[int] = field(default_factory=frozenset)


def _content(affinity_: Affinity, evidence: Evidence, config: IntentConfig) -> dict[int, tuple[float, int]]:
    """product -> (content relevance, anchor) from the recent history's neighbours (strongest anchor wins).

    Content speaks where behaviour cannot: for a product or a history item without behaviour (cold), or when the
    model has nothing to say for this history. Between two products it knows, the model's score stands.
    """
    best: dict[int, tuple[float, int]] = {}
    for anchor, weight in affinity_.recency.items():
        anchor_cold = not evidence.model or anchor not in evidence.known
        for product_id, cosine in evidence.neighbours.get(anchor, ()):
            if not anchor_cold and product_id in evidence.known:
                continue
            value = config.content_scale * cosine * (0.5 + 0.5 * weight)
            if product_id not in best or value > best[product_id][0]:
                best[product_id] = (value, anchor)
    return best


def _popular(affinity_: Affinity, evidence: Evidence, config: IntentConfig) -> dict[int, float]:
    out: dict[int, float] = {}
    for department in affinity_.departments:
        for rank, product_id in enumerate(evidence.popular.get(department, ())):
            out.setdefault(product_id, config.popular_score - 0.01 * rank)
    return out


def score(
    history: Sequence[int], candidates: Iterable[int], evidence: Evidence, config: IntentConfig
) -> dict[int, Scored]:
    """Every candidate's intent-led score for this history (candidates with no facts are left out)."""
    shares = affinity(history, evidence.facts, config)
    content = _content(shares, evidence, config)
    popular = _popular(shares, evidence, config)
    out: dict[int, Scored] = {}
    for product_id in candidates:
        item = evidence.facts.get(product_id)
        if item is None:
            continue
        pieces = [("none", NO_EVIDENCE, None)]
        if product_id in evidence.model:
            pieces.append(("model", evidence.model[product_id], None))
        if product_id in content:
            pieces.append(("content", content[product_id][0], content[product_id][1]))
        if product_id in popular and product_id not in evidence.model:
            # Popularity speaks only where the model cannot: between products it scored, its order stands (a
            # floor of "popular in your department" would flatten the model's ranking into popularity).
            pieces.append(("popular", popular[product_id], None))
        source, relevance, anchor = max(pieces[1:] or pieces, key=lambda piece: piece[1])
        value = (
            relevance
            - config.untouched_margin * (1.0 - shares.department_factor(item.department_id))
            + config.category_weight * shares.category_factor(item.category_id)
        )
        out[product_id] = Scored(product_id, value, relevance, source, anchor)
    return out


def candidate_ids(history: Sequence[int], evidence: Evidence, config: IntentConfig) -> list[int]:
    """Every product some source speaks for, for this history (model, recent items' neighbours, popular)."""
    shares = affinity(history, evidence.facts, config)
    ids = dict.fromkeys(evidence.model)
    ids.update(dict.fromkeys(_content(shares, evidence, config)))
    ids.update(dict.fromkeys(_popular(shares, evidence, config)))
    return list(ids)


def department_quotas(shares: Mapping[int, float], slots: int) -> dict[int, int]:
    """Places per visited department among the first `slots`, in proportion to its recent share (largest
    remainder; ties to the larger share)."""
    exact = {department: share * slots for department, share in shares.items()}
    quotas = {department: int(value) for department, value in exact.items()}
    order = sorted(exact, key=lambda d: (-(exact[d] - quotas[d]), -shares[d], d))
    for department in order[: slots - sum(quotas.values())]:
        quotas[department] += 1
    return quotas


def ranked(
    scores: Mapping[int, Scored],
    affinity_: Affinity | None = None,
    facts: Mapping[int, ItemFacts] | None = None,
    slots: int = 10,
) -> list[Scored]:
    """Best first. With the visitor's affinity, the first `slots` places are shared among the departments they
    browse in proportion to their recent share, each filled with its own best candidates and interleaved: two
    shirt views after five lipsticks give the shirts' department about half the block at once, which a score
    alone cannot (the model's scores for the products it knows dwarf the content scores of products without
    behaviour). One department, or no affinity: plain score order."""
    by_score = sorted(scores.values(), key=lambda item: (-item.score, item.product_id))
    if affinity_ is None or facts is None or len(affinity_.departments) < 2:
        return by_score
    quotas = department_quotas(affinity_.departments, slots)
    taken: dict[int, int] = {}
    head: list[tuple[float, int, Scored]] = []
    for position, item in enumerate(by_score):
        fact = facts.get(item.product_id)
        department = fact.department_id if fact is not None else None
        if department is None or taken.get(department, 0) >= quotas.get(department, 0):
            continue
        taken[department] = taken.get(department, 0) + 1
        head.append(((taken[department] - 0.5) / quotas[department], position, item))
        if len(head) == slots:
            break
    chosen = {item.product_id for _, _, item in head}
    return [item for _, _, item in sorted(head, key=lambda row: row[:2])] + [
        item for item in by_score if item.product_id not in chosen
    ]
