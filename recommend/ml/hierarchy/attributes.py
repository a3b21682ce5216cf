"""Attribute tree mining: names and values from specifications and titles, synonym merging, grouping.

Sources are per-product ``{name: value}`` dicts (Flipkart key/value specifications, a shop's extra columns) and
titles. Two names are synonyms ("Color" / "Colour", "Ideal For" / "Gender") when their name embeddings are close
and their value sets overlap, or when the names are near-identical; merged attributes keep the most frequent
spelling. From titles, words and word pairs that occur across many product clusters (colours, genders, fabrics
rather than product types) become values, grouped into attributes by embedding similarity.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from recommend.ml.hierarchy.features import title_tokens

Encoder = Callable[[Sequence[str]], np.ndarray]
_NUMBER = re.compile(r"^\s*[-+]?\d+(?:[.,]\d+)?\s*([a-zA-Z%\"]{0,6})\s*$")
_BOOL = {"yes", "no", "true", "false"}


def name_words(name: str) -> str:
    """An attribute name as words: "baseColour" -> "base colour", "ideal_for" -> "ideal for"."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ")
    return " ".join(spaced.lower().split())


def normalise_value(value: str) -> str:
    """Case, possessives and spacing removed so "Women's" and "women" meet."""
    value = value.lower().replace("'s", "").replace("’s", "")
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s&/.-]", " ", value)).strip()


@dataclass
class MinedAttribute:
    name: str
    synonyms: list[str]
    values: Counter = field(default_factory=Counter)  # normalised value -> products
    products: int = 0
    data_type: str = "enum"
    unit: str = ""
    categories: dict[int, float] = field(default_factory=dict)  # category id -> coverage share
    rows: set[int] = field(default_factory=set)  # indices of the products that carry it
    group: str = ""


def collect_attributes(specifications: Sequence[dict[str, str]]) -> dict[str, MinedAttribute]:
    """One attribute per distinct name (case-folded), with its value counts."""
    attributes: dict[str, MinedAttribute] = {}
    spellings: dict[str, Counter] = defaultdict(Counter)
    for row, spec in enumerate(specifications):
        for name, value in spec.items():
            key = " ".join(name.lower().split())
            if not key or not value:
                continue
            spellings[key][name.strip()] += 1
            attribute = attributes.setdefault(key, MinedAttribute(name=key, synonyms=[]))
            attribute.values[normalise_value(value)] += 1
            attribute.products += 1
            attribute.rows.add(row)
    for key, attribute in attributes.items():
        attribute.name = spellings[key].most_common(1)[0][0]
        attribute.synonyms = [attribute.name]
    return attributes


_GENERIC_QUALIFIERS = frozenset({"base", "primary", "main", "product", "overall"})
_GENERIC_VALUES = frozenset({"yes", "no", "true", "false", "na", "n/a", "none", "other", "others", "-"})


def informative_values(values: Counter, top: int = 30) -> set[str]:
    """The most frequent values, without yes/no-style and numeric ones that every flag or size shares."""
    chosen = set()
    for value, _ in values.most_common(top * 2):
        if value in _GENERIC_VALUES or any(character.isdigit() for character in value):
            continue
        chosen.add(value)
        if len(chosen) >= top:
            break
    return chosen


def value_overlap(left: Counter, right: Counter, top: int = 30) -> float:
    """Overlap coefficient of the attributes' informative values (1.0: one set inside the other)."""
    a, b = informative_values(left, top), informative_values(right, top)
    if min(len(a), len(b)) < 2:
        return 0.0  # flags and measurements cannot be told apart by their values
    return len(a & b) / min(len(a), len(b))


def co_occurrence(left: MinedAttribute, right: MinedAttribute) -> float:
    """Share of the rarer attribute's products that carry the other one too.

    Synonyms come from different sources or spellings, so one product rarely lists both; two attributes seen
    together on many products ("Dial Color" and "Strap Color" on watches) are different attributes.
    """
    if not left.rows or not right.rows:
        return 0.0
    return len(left.rows & right.rows) / min(len(left.rows), len(right.rows))


def qualified_variants(left: str, right: str) -> bool:
    """ "Color" / "Strap Color" / "Dial Color": the same head word with different qualifiers names different
    attributes (of different parts), however alike their values."""

    # British and American spellings count as one ("base colour" / "strap color"); generic qualifiers such as
    # "base" or "primary" do not name a part, so "base colour" is still the colour.
    def words(name: str) -> list[str]:
        return [w for w in name_words(name).replace("our", "or").split() if w not in _GENERIC_QUALIFIERS]

    a, b = words(left), words(right)
    return bool(a and b) and a != b and a[-1] == b[-1]


def synonym_pairs(
    attributes: Sequence[MinedAttribute],
    encoder: Encoder,
    *,
    name_threshold: float = 0.85,
    joint_name_threshold: float = 0.2,
    overlap_threshold: float = 0.6,
    related_name_threshold: float = 0.55,
    related_overlap_threshold: float = 0.4,
    max_co_occurrence: float = 0.05,
) -> list[tuple[int, int, float, float]]:
    """Index pairs judged synonyms, with (name cosine, value overlap).

    Near-identical names with some shared values, related names ("Color" / "base colour") with a fair share,
    or loosely related names with strongly overlapping informative values ("Ideal For" / "gender").
    Attributes that occur together on products (co_occurrence), or that qualify one head word differently
    ("Dial Color" / "Strap Color"), are never merged.
    """
    if len(attributes) < 2:
        return []
    vectors = encoder([name_words(attribute.name) for attribute in attributes])
    similarity = vectors @ vectors.T
    pairs = []
    for i in range(len(attributes)):
        for j in range(i + 1, len(attributes)):
            if co_occurrence(attributes[i], attributes[j]) > max_co_occurrence or qualified_variants(
                attributes[i].name, attributes[j].name
            ):
                continue
            overlap = value_overlap(attributes[i].values, attributes[j].values)
            cosine = float(similarity[i, j])
            if (
                (cosine >= name_threshold and overlap >= 0.2)
                or (cosine >= related_name_threshold and overlap >= related_overlap_threshold)
                or (cosine >= joint_name_threshold and overlap >= overlap_threshold)
            ):
                pairs.append((i, j, cosine, overlap))
    return pairs


def merge_synonyms(
    attributes: Sequence[MinedAttribute], pairs: Sequence[tuple[int, int, float, float]]
) -> list[MinedAttribute]:
    """Union the paired attributes; each merged attribute is named after its most frequent member."""
    parent = list(range(len(attributes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    groups: dict[int, list[int]] = {i: [i] for i in range(len(attributes))}
    # Strongest pairs first; two groups join only if no two of their members occur together on products, so
    # a chain "Color = Color Code = Strap Color" cannot pull "Strap Color" into "Color".
    for i, j, _, _ in sorted(pairs, key=lambda pair: -(pair[2] + pair[3])):
        a, b = root(i), root(j)
        if a == b or any(
            co_occurrence(attributes[x], attributes[y]) > 0.05
            or qualified_variants(attributes[x].name, attributes[y].name)
            for x in groups[a]
            for y in groups[b]
        ):
            continue
        parent[a] = b
        groups[b] = groups[b] + groups.pop(a)
    members = {key: value for key, value in groups.items()}
    merged = []
    for group in members.values():
        ordered = sorted(group, key=lambda i: -attributes[i].products)
        values: Counter = Counter()
        for i in ordered:
            values.update(attributes[i].values)
        first = attributes[ordered[0]]
        names = [attributes[i].name for i in ordered]
        merged.append(
            MinedAttribute(
                name=first.name, synonyms=names, values=values, products=sum(attributes[i].products for i in ordered)
            )
        )
    for attribute in merged:
        attribute.data_type, attribute.unit = infer_data_type(attribute.values)
    return sorted(merged, key=lambda attribute: -attribute.products)


def infer_data_type(values: Counter) -> tuple[str, str]:
    """(data type, unit): number when most values are numbers (the commonest suffix is the unit)."""
    total = sum(values.values()) or 1
    if sum(count for value, count in values.items() if value in _BOOL) / total >= 0.9:
        return "bool", ""
    units: Counter = Counter()
    numeric = 0
    for value, count in values.items():
        match = _NUMBER.match(value)
        if match:
            numeric += count
            units[match.group(1)] += count
    if numeric / total >= 0.8:
        return "number", (units.most_common(1)[0][0] if units else "")
    return ("enum", "") if len(values) <= max(50, total // 5) else ("text", "")


def attach_categories(
    attributes: Sequence[MinedAttribute],
    specifications: Sequence[dict[str, str]],
    categories: Sequence[int],
    *,
    min_coverage: float = 0.3,
) -> None:
    """Link each attribute to the categories where at least `min_coverage` of the products carry it."""
    by_name = {synonym.lower(): attribute for attribute in attributes for synonym in attribute.synonyms}
    per_category = Counter(categories)
    carried: dict[int, Counter] = defaultdict(Counter)
    for spec, category in zip(specifications, categories, strict=False):
        for attribute_id in {id(by_name[n.lower().strip()]) for n in spec if n.lower().strip() in by_name}:
            carried[attribute_id][category] += 1
    for attribute in attributes:
        shares = {c: n / per_category[c] for c, n in carried[id(attribute)].items()}
        attribute.categories = {int(c): round(s, 3) for c, s in shares.items() if s >= min_coverage}


def group_attributes(attributes: Sequence[MinedAttribute], encoder: Encoder, *, distance: float = 0.6) -> None:
    """Name groups by clustering attribute names (cosine, average linkage); a group is named by its first word."""
    if len(attributes) < 2:
        for attribute in attributes:
            attribute.group = "General"
        return
    vectors = encoder([attribute.name.lower() for attribute in attributes])
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average")
    labels = model.fit_predict(vectors)
    for label in set(labels):
        members = [attributes[int(i)] for i in np.flatnonzero(labels == label)]
        words = Counter(word for member in members for word in set(member.name.lower().split()))
        shared = [word for word, count in words.most_common() if count == len(members) and len(members) > 1]
        name = shared[0].title() if shared else ("General" if len(members) == 1 else members[0].name)
        for member in members:
            member.group = name


def mine_title_values(
    titles: Sequence[str],
    clusters: np.ndarray,
    encoder: Encoder,
    *,
    min_products: int = 30,
    min_spread: float = 0.5,
    distance: float = 0.55,
) -> list[MinedAttribute]:
    """Attributes mined from titles alone: spread-out words/pairs grouped by meaning.

    A term's spread is the normalised entropy of its occurrences over the product clusters; product-type words
    sit in few clusters, attribute values (colours, genders) in many.
    """
    cluster_count = int(clusters.max()) + 1
    per_term: dict[str, Counter] = defaultdict(Counter)
    for title, cluster in zip(titles, clusters, strict=False):
        tokens = title_tokens(title)
        for term in set(tokens) | {" ".join(pair) for pair in itertools.pairwise(tokens)}:
            per_term[term][int(cluster)] += 1
    values = []
    for term, spread in per_term.items():
        total = sum(spread.values())
        if total < min_products or any(ch.isdigit() for ch in term):
            continue
        shares = np.array(list(spread.values()), dtype=np.float64) / total
        entropy = float(-(shares * np.log(shares)).sum() / np.log(max(cluster_count, 2)))
        if entropy >= min_spread:
            values.append((term, total))
    # A pair whose words are both values already ("navy blue") is kept; a single word inside it stays too.
    if len(values) < 2:
        return []
    vectors = encoder([term for term, _ in values])
    labels = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average"
    ).fit_predict(vectors)
    attributes = []
    for label in set(labels):
        members = [values[i] for i in np.flatnonzero(labels == label)]
        counter = Counter({term: count for term, count in members})
        top = counter.most_common(1)[0][0]
        attributes.append(
            MinedAttribute(
                name=f"{top.title()} (from titles)", synonyms=[], values=counter, products=sum(counter.values())
            )
        )
    return sorted(attributes, key=lambda attribute: -attribute.products)
