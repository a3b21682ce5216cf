"""A proposed tree against the live one: which live category each node is, and the changes in words.

Levels line up by depth: proposed level L of a scope at mptt level s is compared with the live categories at
level s + 1 + L (L for the whole catalog), and a product counts for its live category's ancestor at that level.
Each node is matched to the live category holding most of its products (at least MATCH_MIN_SHARE of them),
one to one, the biggest overlaps first. Then:

- an unmatched node is a new category (at the finest level its products move into it);
- a matched node whose label and terms do not say the live name is a rename suggestion, one whose parent
  differs a move;
- an unmatched live category most of whose products (MERGE_MIN_SHARE) lie in one matched node merges into it;
- the other live categories whose products the finest level sends elsewhere are split.

Pure Python over plain rows, so the rules are tested without building anything.
"""

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MATCH_MIN_SHARE = 0.5
MERGE_MIN_SHARE = 0.6
SUMMARY_NAMES = 3


@dataclass(frozen=True)
class LiveCategory:
    pk: int
    parent_id: int | None
    name: str
    level: int


@dataclass
class Change:
    kind: str  # ProposalChange.Kind values
    node_key: str
    summary: str
    target_id: int | None = None  # the category renamed / moved / merged into / split
    source_id: int | None = None  # merge: the category merged away
    name: str = ""
    moves: dict[str, list[int]] = field(default_factory=dict)

    @property
    def product_ids(self) -> list[int]:
        return sorted(pk for ids in self.moves.values() for pk in ids)


class LiveTree:
    """The live categories with ancestor look-ups at a given mptt level."""

    def __init__(self, categories: Sequence[LiveCategory]) -> None:
        self.by_id = {category.pk: category for category in categories}

    def ancestor_at(self, category_id: int | None, level: int) -> int | None:
        node = self.by_id.get(category_id) if category_id is not None else None
        while node is not None and node.level > level:
            node = self.by_id.get(node.parent_id) if node.parent_id is not None else None
        return node.pk if node is not None and node.level == level else None

    def name(self, category_id: int | None) -> str:
        return self.by_id[category_id].name if category_id in self.by_id else "the top level"


def _quote(names: Sequence[str]) -> str:
    shown = [f"“{name}”" for name in names[:SUMMARY_NAMES]]
    more = len(names) - SUMMARY_NAMES
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _stem(word: str) -> str:
    """English plurals to singular, enough to tell "Watches" is "watch" and "Accessories" is "accessory"."""
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _stems(text: str) -> set[str]:
    return {_stem(word) for word in re.findall(r"\w+", text.casefold()) if len(word) > 2}


def names_agree(live_name: str, node: dict[str, Any]) -> bool:
    """A live name said by the node's label or terms ("Eyewear" / "Sunglasses / Eyewear") needs no rename."""
    said = _stems(" ".join([node["label"], *node.get("terms", [])]))
    words = _stems(live_name)
    return bool(words & said) or live_name.casefold() == node["label"].casefold()


def match_nodes(
    nodes: Sequence[dict[str, Any]], product_category: dict[int, int | None], live: LiveTree, base_level: int
) -> dict[str, int]:
    """{node key: live category id}, one to one per level, biggest overlaps first."""
    matched: dict[str, int] = {}
    for level in sorted({node["level"] for node in nodes}):
        candidates: list[tuple[int, str, int]] = []
        for node in (n for n in nodes if n["level"] == level):
            counts = Counter(
                live.ancestor_at(product_category.get(pk), base_level + level) for pk in node["product_ids"]
            )
            counts.pop(None, None)
            for category_id, overlap in counts.items():
                if category_id is not None and overlap >= MATCH_MIN_SHARE * max(node["size"], 1):
                    candidates.append((overlap, node["key"], category_id))
        taken: set[int] = set()
        for _, key, category_id in sorted(candidates, key=lambda item: (-item[0], item[1], item[2])):
            if key not in matched and category_id not in taken:
                matched[key] = category_id
                taken.add(category_id)
    return matched


def node_changes(
    nodes: Sequence[dict[str, Any]], matched: dict[str, int], live: LiveTree, scope_id: int | None, leaf_level: int
) -> list[Change]:
    """New, rename and move changes, coarse to fine."""
    by_key = {node["key"]: node for node in nodes}
    changes = []
    for node in sorted(nodes, key=lambda n: (n["level"], n["key"])):
        parent = by_key.get(node["parent_key"]) if node["parent_key"] else None
        parent_words = f"“{parent['label']}”" if parent else f"“{live.name(scope_id)}”" if scope_id else "the top level"
        category_id = matched.get(node["key"])
        if category_id is None:
            moves = {node["key"]: list(node["product_ids"])} if node["level"] == leaf_level else {}
            count = f" with {len(node['product_ids'])} products" if moves else ""
            changes.append(
                Change(
                    kind="new",
                    node_key=node["key"],
                    name=node["label"],
                    moves=moves,
                    summary=f"New category “{node['label']}” under {parent_words}{count}, e.g. "
                    + _quote(node["examples"]),
                )
            )
            continue
        current = live.by_id[category_id]
        if not names_agree(current.name, node):
            changes.append(
                Change(
                    kind="rename",
                    node_key=node["key"],
                    target_id=category_id,
                    name=node["label"],
                    summary=f"Rename “{current.name}” to “{node['label']}”",
                )
            )
        wanted_parent = matched.get(parent["key"]) if parent else scope_id
        if (parent and wanted_parent is None) or (wanted_parent != current.parent_id):
            where = f"the new {parent_words}" if parent and wanted_parent is None else parent_words
            changes.append(
                Change(
                    kind="move",
                    node_key=node["key"],
                    target_id=category_id,
                    summary=f"Move “{current.name}” from “{live.name(current.parent_id)}” to {where}",
                )
            )
    return changes


def _leaf_outgoing(
    nodes: Sequence[dict[str, Any]],
    matched: dict[str, int],
    product_category: dict[int, int | None],
    live: LiveTree,
    level: int,
) -> tuple[dict[int | None, dict[str, list[int]]], Counter]:
    """Per live source category: {leaf node key: products leaving it for that node}, and each source's size."""
    outgoing: dict[int | None, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    sizes: Counter = Counter()
    for node in nodes:
        for pk in node["product_ids"]:
            source = live.ancestor_at(product_category.get(pk), level) or product_category.get(pk)
            sizes[source] += 1
            if source is None or source != matched.get(node["key"]):
                outgoing[source][node["key"]].append(pk)
    return outgoing, sizes


def product_changes(
    nodes: Sequence[dict[str, Any]],
    matched: dict[str, int],
    product_category: dict[int, int | None],
    live: LiveTree,
    leaf_level: int,
    base_level: int,
) -> list[Change]:
    """Merges and splits: where the finest level sends products that are not in their node's category yet.

    Moves into a new node are carried by its "new" change too (moving a product twice to one place is a no-op),
    so a split reads whole while dropping it still lets the new category fill.
    """
    by_key = {node["key"]: node for node in nodes}
    leaves = [node for node in nodes if node["level"] == leaf_level]
    outgoing, sizes = _leaf_outgoing(leaves, matched, product_category, live, base_level + leaf_level)
    taken = set(matched.values())
    changes = []
    for source, moves in sorted(outgoing.items(), key=lambda item: (item[0] is None, item[0] or 0)):
        parts = ", ".join(
            f"{len(moves[key])} to {'' if key in matched else 'the new '}“{by_key[key]['label']}”"
            for key in sorted(moves, key=lambda k: (-len(moves[k]), k))
        )
        into_live = {key: ids for key, ids in moves.items() if key in matched}
        main_key = max(into_live, key=lambda k: (len(into_live[k]), k)) if into_live else None
        mostly_one = main_key is not None and len(into_live[main_key]) >= MERGE_MIN_SHARE * sizes[source]
        if source is not None and source not in taken and main_key is not None and mostly_one:
            target = matched[main_key]
            summary = f"Merge “{live.name(source)}” into “{live.name(target)}” ({parts})"
            changes.append(Change("merge", main_key, summary, target, source, moves=dict(moves)))
            continue
        stays = source in taken and sizes[source] > sum(len(ids) for ids in moves.values())
        if source is not None and len(moves) + int(stays) < 2:
            continue  # all of an unmatched category goes to one new node: that node's "new" change says it
        what = f"Split “{live.name(source)}”" if source is not None else "Place uncategorised products"
        # The split is about the source: shown at its own node, or where most of it goes when it has none.
        own = next((key for key, category in matched.items() if category == source and key in by_key), None)
        first = (
            own if own and by_key[own]["level"] == leaf_level else main_key or max(moves, key=lambda k: len(moves[k]))
        )
        changes.append(Change("split", first, f"{what}: {parts}", source, moves=dict(moves)))
    return changes


def coarse_merges(
    nodes: Sequence[dict[str, Any]],
    matched: dict[str, int],
    product_category: dict[int, int | None],
    live: LiveTree,
    leaf_level: int,
    base_level: int,
    scope_ids: set[int] | None,
) -> list[Change]:
    """Above the finest level: an unmatched live category that mostly falls in one matched node merges into it."""
    taken = set(matched.values())
    changes = []
    for level in range(leaf_level):
        shares: dict[int, Counter] = defaultdict(Counter)
        for node in (n for n in nodes if n["level"] == level):
            for pk in node["product_ids"]:
                source = live.ancestor_at(product_category.get(pk), base_level + level)
                if source is not None and source not in taken:
                    shares[source][node["key"]] += 1
        for source, counts in sorted(shares.items()):
            if scope_ids is not None and source not in scope_ids:
                continue
            key, count = max(counts.items(), key=lambda item: (item[1], item[0]))
            if key in matched and count >= MERGE_MIN_SHARE * sum(counts.values()):
                target = matched[key]
                changes.append(
                    Change(
                        kind="merge",
                        node_key=key,
                        target_id=target,
                        source_id=source,
                        moves={},
                        summary=f"Merge “{live.name(source)}” into “{live.name(target)}” (with its subcategories)",
                    )
                )
    return changes


def compute_diff(
    nodes: Sequence[dict[str, Any]],
    product_category: dict[int, int | None],
    categories: Sequence[LiveCategory],
    *,
    scope_id: int | None,
    base_level: int,
    scope_ids: set[int] | None = None,
) -> tuple[dict[str, int], list[Change]]:
    """(node key -> matched live category id, the changes in review order)."""
    live = LiveTree(categories)
    leaf_level = max((node["level"] for node in nodes), default=0)
    matched = match_nodes(nodes, product_category, live, base_level)
    changes = node_changes(nodes, matched, live, scope_id, leaf_level)
    changes += coarse_merges(nodes, matched, product_category, live, leaf_level, base_level, scope_ids)
    changes += product_changes(nodes, matched, product_category, live, leaf_level, base_level)
    return matched, changes
