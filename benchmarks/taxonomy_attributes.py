"""Attribute part of the taxonomy benchmark: title-mined values scored against real columns/specifications,
and synonym merging scored on a hand-labelled list of attribute-name pairs.

Synonym sources: Fashion's columns (gender, baseColour, season, usage, as a shop would import them) and the 999
Flipkart rows with key/value specifications, merged in one pool so cross-source synonyms ("Ideal For" /
"gender", "Color" / "baseColour") can be found.
"""

from __future__ import annotations

from collections import Counter

from taxonomy_data import FASHION_ATTRIBUTE_COLUMNS, Dataset, load_flipkart_specifications

from recommend.ml.hierarchy.attributes import (
    MinedAttribute,
    collect_attributes,
    merge_synonyms,
    mine_title_values,
    normalise_value,
    synonym_pairs,
)
from recommend.ml.hierarchy.builder import BuiltHierarchy

# Labelled by hand (before looking at what the merger returns): True = the same attribute, False = different
# attributes that a careless merge would join (shared words or shared values).
LABELLED_PAIRS: list[tuple[str, str, bool]] = [
    ("Color", "baseColour", True),
    ("Ideal For", "gender", True),
    ("Occasion", "usage", True),
    ("Fabric", "Material", True),
    ("Model Name", "Model", True),
    ("Model Number", "Model ID", True),
    ("Pack of", "Number of Contents in Sales Package", True),
    ("Designed for", "Suitable For", True),
    ("Fabric Care", "Care Instructions", True),
    ("Chronograph", "Chronograph Feature", True),
    ("Service Type", "Warranty Service Type", True),
    ("Color", "Strap Color", False),
    ("Color", "Dial Color", False),
    ("Dial Color", "Strap Color", False),
    ("Gold Purity", "Silver Purity", False),
    ("Gold Weight", "Diamond Weight", False),
    ("Width", "Height", False),
    ("Length", "Width", False),
    ("Height", "Heel Height", False),
    ("Outer Material", "Sole Material", False),
    ("Inner Material", "Outer Material", False),
    ("Covered in Warranty", "Not Covered in Warranty", False),
    ("Gold Color", "Silver Color", False),
    ("season", "Occasion", False),
    ("Brand", "Brand Fit", False),
    ("Model Name", "Brand", False),
    ("Weight", "Metal Weight", False),
]


# Judged by hand after a run, so that precision covers every pair the merger returned (not only the list above).
JUDGED_AFTER_RUN: list[tuple[str, str, bool]] = [
    ("baseColour", "Color Code", True),
    ("baseColour", "Primary Color", True),
    ("Color", "Color Code", True),
    ("Color", "Primary Color", True),
    ("Color Code", "Primary Color", True),
    ("Material", "Primary Material", True),
    ("Shade", "Strap Color", False),
    ("Color", "Shade", True),
    ("Collar", "Neck", False),
    ("Base Material", "Plating", False),
]


def _encoder():
    from recommend.ml.text_encoder import get_text_encoder

    return get_text_encoder().encode


def synonym_scores(fashion: Dataset, encoder) -> dict[str, float]:
    flipkart = load_flipkart_specifications()
    pool = collect_attributes(list(fashion.specifications) + list(flipkart.specifications))
    attributes = [attribute for attribute in pool.values() if attribute.products >= 5]
    merged = merge_synonyms(attributes, synonym_pairs(attributes, encoder))
    # A found pair = two names that ended up in one merged attribute.
    found = {
        frozenset((a.lower(), b.lower()))
        for attribute in merged
        for index, a in enumerate(attribute.synonyms)
        for b in attribute.synonyms[index + 1 :]
    }
    labelled = {frozenset((a.lower(), b.lower())): truth for a, b, truth in LABELLED_PAIRS}
    judged = [labelled[pair] for pair in found if pair in labelled]
    true_pairs = [pair for pair, truth in labelled.items() if truth]
    judged_all = {**{frozenset((a.lower(), b.lower())): t for a, b, t in JUDGED_AFTER_RUN}, **labelled}
    all_judged = [judged_all[pair] for pair in found if pair in judged_all]
    print("synonym pairs:", sorted(" = ".join(sorted(pair)) for pair in found), flush=True)
    return {
        "attributes.names_mined": len(attributes),
        "attributes.after_merge": len(merged),
        "attributes.synonym_pairs_found": len(found),
        "attributes.synonym_labelled_found": len(judged),
        "attributes.synonym_precision": round(sum(judged) / len(judged), 4) if judged else 0.0,
        "attributes.synonym_precision_all_found": round(sum(all_judged) / len(all_judged), 4) if all_judged else 0.0,
        "attributes.synonym_judged_found": len(all_judged),
        "attributes.synonym_recall": round(sum(pair in found for pair in true_pairs) / len(true_pairs), 4),
    }


def column_scores(prefix: str, mined: list[MinedAttribute], columns: dict[str, Counter], min_count: int) -> dict:
    """Map each mined attribute to the column sharing most values; purity and value recall per that mapping."""
    column_values = {name: {v for v, n in counts.items() if n >= min_count} for name, counts in columns.items()}
    covered: dict[str, set[str]] = {name: set() for name in columns}
    mapped_values = in_column = 0
    mapped = 0
    for attribute in mined:
        values = set(attribute.values)
        best = max(column_values, key=lambda name: len(values & column_values[name]))
        hits = values & column_values[best]
        if not hits:
            continue
        mapped += 1
        mapped_values += len(values)
        in_column += len(hits)
        covered[best] |= hits
    total = sum(len(values) for values in column_values.values())
    values = {
        f"{prefix}.mined_attributes": len(mined),
        f"{prefix}.mapped_attributes": mapped,
        f"{prefix}.purity": round(in_column / mapped_values, 4) if mapped_values else 0.0,
        f"{prefix}.value_recall": round(sum(len(v) for v in covered.values()) / max(total, 1), 4),
    }
    for name in columns:
        values[f"{prefix}.value_recall.{name}"] = round(len(covered[name]) / max(len(column_values[name]), 1), 4)
    return values


def attribute_scores(fashion: Dataset, tree: BuiltHierarchy) -> dict[str, float]:
    encoder = _encoder()
    values: dict[str, float] = synonym_scores(fashion, encoder)
    # Fashion: attributes mined from titles alone, against the dataset's own columns.
    mined = mine_title_values(fashion.titles, tree.levels.labels[-1], encoder)
    columns = {
        name: Counter(normalise_value(spec[name]) for spec in fashion.specifications if name in spec)
        for name in FASHION_ATTRIBUTE_COLUMNS
    }
    values.update(column_scores("attributes.fashion", mined, columns, min_count=50))
    # Flipkart: attributes mined from the 999 specified products' titles, against their specifications.
    flipkart = load_flipkart_specifications()
    # The spread of a term needs product clusters: a blind k-means on the products' vectors, not their paths.
    from recommend.ml.hierarchy.builder import product_vectors
    from recommend.ml.hierarchy.tree import kmeans

    blind, _ = kmeans(product_vectors(flipkart.titles, encoder), 40, seed=0)
    mined_flipkart = mine_title_values(flipkart.titles, blind, encoder, min_products=5)
    spec_columns = {
        name: Counter(normalise_value(spec[name]) for spec in flipkart.specifications if name in spec)
        for name in ("Color", "Ideal For", "Pattern", "Fabric", "Occasion", "Type", "Sleeve", "Neck")
    }
    values.update(column_scores("attributes.flipkart", mined_flipkart, spec_columns, min_count=5))
    return values
