"""Unit tests for recommend.ml.duplicates: cross-shop features, labelled files, splits, calibration."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from recommend.ml.duplicates import (
    normalise_brand,
    pair_features,
    part_numbers,
    precision_recall_f1,
    quantities,
    threshold_for_precision,
)
from recommend.ml.duplicates.cross_source import other_shop_rewrite, pricerunner_pairs, rewrite_pairs
from recommend.ml.duplicates.labelled_file import LabelledFileError, parse_labelled_lines
from recommend.ml.duplicates.training import split_pairs

SONY_A = {"title": "Sony Bravia Theater Black Micro System - DAVHDX275", "brand": "Sony Corp."}
SONY_B = {"title": "Sony BRAVIA DAV-HDX275 Home Theater System", "brand": "SONY"}


def test_part_numbers_ignore_separators_and_units() -> None:
    assert part_numbers(SONY_A["title"]) == part_numbers(SONY_B["title"]) == {"davhdx275"}
    assert "mq8n2ba" in part_numbers("apple mq8n2b/a iphone 8 plus 64gb")
    assert "smg950f" in part_numbers("samsung galaxy s8 sm g950f 64 gb")
    assert part_numbers("64GB 5.5 inch 12MP") == frozenset()


def test_quantities_convert_units() -> None:
    assert quantities("WD Elements 1TB")["storage"] == quantities("WD Elements 1000 GB")["storage"]
    assert quantities("Lotion 500ml")["volume"] == quantities("lotion 0.5 l")["volume"]


def test_brand_normalisation() -> None:
    assert normalise_brand("Sony Corp.") == normalise_brand("SONY") == "sony"
    assert normalise_brand("Hewlett-Packard Inc.") == "hewlettpackard"


def test_pair_features_see_one_product_across_shops() -> None:
    same = pair_features(SONY_A, SONY_B)
    assert same["part_number_match"] == 1.0 and same["part_number_conflict"] == 0.0
    assert same["brand_match"] == 1.0 and same["brand_conflict"] == 0.0
    other = pair_features({"title": "Sony DAV-HDX275"}, {"title": "Sony DAV-DZ170 home theatre"})
    assert other["part_number_conflict"] == 1.0
    capacity = pair_features({"title": "iPhone 8 64GB"}, {"title": "iPhone 8 256 GB"})
    assert capacity["numeric_conflict"] == 1.0 and capacity["numeric_agreement"] == 0.0


def test_brand_found_in_title_when_one_side_lacks_the_field() -> None:
    assert pair_features({"title": "Bravia TV", "brand": "Sony"}, {"title": "SONY KD-55 Bravia"})["brand_match"] == 1.0


def _write(rows: list) -> list[str]:
    return [json.dumps(r) if not isinstance(r, str) else r for r in rows]


def test_labelled_file_rows_parse() -> None:
    lines = _write([{"left": {"title": "A 1", "price": "10"}, "right": {"title": "A one"}, "label": 1}])
    [(left, right, label)] = parse_labelled_lines(lines, name="f.jsonl")
    assert left["price"] == 10.0 and right == {"title": "A one"} and label == 1


def test_labelled_file_errors_name_row_and_column() -> None:
    lines = _write(
        [
            {"left": {"title": "ok"}, "right": {"title": "ok too"}, "label": 1},
            "{not json",
            {"left": {"title": "x", "price": "cheap"}, "right": {"title": "y"}, "label": 1},
            {"left": {"title": "x"}, "right": {"brand": "b"}, "label": 2},
        ]
    )
    with pytest.raises(LabelledFileError) as caught:
        parse_labelled_lines(lines, name="f.jsonl")
    assert caught.value.errors == [
        "f.jsonl: row 2, column '-': invalid JSON (Expecting property name enclosed in double quotes)",
        "f.jsonl: row 3, column 'left.price': 'cheap' is not a number",
        "f.jsonl: row 4, column 'right.title': is missing or empty",
        "f.jsonl: row 4, column 'label': 2 is not 0 or 1",
    ]


def test_split_pairs_keeps_connected_records_together() -> None:
    rng = random.Random(0)
    pairs = [
        ({"title": f"item {g}"}, {"title": f"item {g} copy {i}"}, rng.randint(0, 1))
        for g in range(40)
        for i in range(3)
    ]
    pairs += [({"title": f"item {g} copy 0"}, {"title": f"other {g}"}, 0) for g in range(40)]
    train, val, test = split_pairs(pairs, seed=0)
    assert len(train) + len(val) + len(test) == len(pairs) and val and test
    titles = [{t for a, b, _ in part for t in (a["title"], b["title"])} for part in (train, val, test)]
    assert not titles[0] & titles[2] and not titles[1] & titles[2] and not titles[0] & titles[1]


def test_precision_threshold_and_prf() -> None:
    y, s = np.array([1, 1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.6, 0.1])
    assert threshold_for_precision(y, s, 1.0) == 0.8
    assert precision_recall_f1(y, s, 0.8) == {"precision": 1.0, "recall": 2 / 3, "f1": 0.8}


def test_other_shop_rewrite_is_seeded() -> None:
    product = {"title": "Sony DAV-HDX275 Home Theater 1TB", "brand": "Sony", "price": 100.0, "category": "a > b"}
    assert other_shop_rewrite(product, random.Random(3)) == other_shop_rewrite(product, random.Random(3))


def test_cross_source_pairs_split_by_product() -> None:
    offers = [
        {"title": f"brand{g % 3} model {g}x{m}", "merchant": str(m), "group": str(g), "category": f"c{g % 2}"}
        for g in range(60)
        for m in range(3)
    ]
    parts = pricerunner_pairs(offers, seed=0, negatives_per_positive=2)
    groups = [{p.group for p in parts[s]} for s in ("train", "val", "test")]
    assert not groups[0] & groups[2] and all(parts[s] for s in parts)
    assert {p.label for p in parts["train"]} == {0, 1}
    products = [{"title": f"Brand Shirt Model {g}", "category": "shirts", "group": str(g)} for g in range(50)]
    rewritten = rewrite_pairs(products, source="toy", seed=0, positives=20)
    assert sum(p.label for p in rewritten["train"]) == 12 and all(p.source == "toy" for p in rewritten["test"])
