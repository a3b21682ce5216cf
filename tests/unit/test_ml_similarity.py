"""Fast unit tests for recommend/ml similarity code (no Django, tiny inline data)."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from recommend.ml.ann_index import VectorIndex, normalize
from recommend.ml.cooccurrence import build_cooccurrence, merge_neighbors
from recommend.ml.duplicates import (
    DuplicateScorer,
    best_f1_threshold,
    build_labelled_pairs_from_flipkart,
    mine_duplicate_candidates,
    pair_features,
    split_by_group,
)


@pytest.fixture
def clustered() -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((20, 32))
    return normalize(centres[rng.integers(0, 20, 600)] + 0.3 * rng.standard_normal((600, 32)))


def test_exact_and_hnsw_agree(clustered: np.ndarray) -> None:
    ids = np.arange(1000, 1600)
    exact = VectorIndex("exact").build(clustered, ids)
    hnsw = VectorIndex("hnsw", hnsw_m=16, ef_construction=80).build(clustered, ids)
    assert exact.kind == "exact" and hnsw.kind == "hnsw"
    assert VectorIndex().build(clustered).kind == "exact"  # auto: small -> exact
    assert VectorIndex(exact_max_size=100).build(clustered).kind == "hnsw"
    e_ids, e_scores = exact.search(clustered[:50], 10)
    h_ids, _ = hnsw.search(clustered[:50], 10)
    assert e_ids[:, 0].tolist() == list(range(1000, 1050))  # each vector finds itself
    assert np.allclose(e_scores[:, 0], 1.0, atol=1e-5)
    assert np.all(np.diff(e_scores, axis=1) <= 1e-6)  # best first
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(e_ids, h_ids, strict=True)])
    assert recall >= 0.95


def test_index_save_load_roundtrip_and_string_ids(tmp_path, clustered: np.ndarray) -> None:
    sku = [f"sku-{i}" for i in range(len(clustered))]
    for method in ("exact", "hnsw"):
        index = VectorIndex(method).build(clustered, sku)
        before = index.search(clustered[:5], 3)
        index.save(tmp_path / method)
        loaded = VectorIndex.load(tmp_path / method)
        after = loaded.search(clustered[:5], 3)
        assert loaded.kind == method and len(loaded) == len(sku)
        assert before[0].tolist() == after[0].tolist()
        assert np.allclose(before[1], after[1])
    ids, scores = VectorIndex().build(clustered[:2], [7, 9]).search(clustered[:1], 4)
    assert ids[0].tolist() == [7, 9, -1, -1] and np.isneginf(scores[0, 2:]).all()


def test_cooccurrence_neighbours() -> None:
    # "shampoo" and "conditioner" are always viewed together; "tent" only with "stove".
    seqs = [
        ["shampoo", "conditioner", "towel"],
        ["conditioner", "shampoo"],
        ["shampoo", "conditioner", "tent", "stove"],
        ["tent", "stove"],
        ["towel", "shampoo"],
    ]
    model = build_cooccurrence(seqs, window=1)
    nbrs = model.neighbors("shampoo", k=5)
    assert nbrs[0][0] == "conditioner"
    assert all(item != "shampoo" for item, _ in nbrs)
    assert model.neighbors("stove", 1)[0][0] == "tent"
    assert "stove" not in dict(nbrs)  # more than ``window`` positions apart
    assert model.neighbors("unknown") == []
    # Similarity is symmetric with the default weights.
    s = dict(model.neighbors("conditioner"))["shampoo"]
    assert s == pytest.approx(dict(nbrs)["conditioner"])
    # A wider window and proximity decay still rank the adjacent pair first.
    wide = build_cooccurrence(seqs, window=3, decay=0.5)
    assert "stove" in dict(wide.neighbors("shampoo", 10))
    assert wide.neighbors("shampoo", 1)[0][0] == "conditioner"
    # Recency: the old co-view is down-weighted against the recent one.
    day = 86400.0
    recent = build_cooccurrence(
        [["a", "old"], ["a", "new"]], timestamps=[[0, 0], [400 * day, 400 * day]], window=1, half_life_days=30
    )
    assert [i for i, _ in recent.neighbors("a")] == ["new", "old"]


def test_hybrid_merge_order_and_signals() -> None:
    content = [("b", 0.9), ("c", 0.8), ("q", 1.0)]
    behavior = [("c", 0.05), ("d", 0.04)]
    merged = merge_neighbors(content, behavior, content_weight=0.5, behavior_weight=0.5, exclude="q")
    assert [n.item for n in merged] == ["c", "b", "d"]
    assert {n.item: n.signal for n in merged} == {"b": "content", "c": "both", "d": "behavior"}
    assert all(a.score >= b.score for a, b in itertools.pairwise(merged))
    # Cold item (no behaviour): the content order is kept.
    cold = merge_neighbors(content, [], k=2, exclude="q")
    assert [n.item for n in cold] == ["b", "c"] and {n.signal for n in cold} == {"content"}
    assert merge_neighbors([], behavior, normalization="rank")[0].item == "c"


def test_duplicate_scorer_ranks_obvious_duplicate_first() -> None:
    base = {
        "title": "Nike Air Zoom Pegasus 38 Running Shoes",
        "brand": "Nike",
        "price": 7999,
        "category": "Footwear >> Men >> Running",
    }
    variant = {
        "title": "Nike Air Zoom Pegasus 38 Running Shoe (Black, 42)",
        "brand": "nike",
        "price": 8299,
        "category": "Footwear >> Men >> Running",
    }
    other = {
        "title": "Prestige Stainless Steel Pressure Cooker 5 L",
        "brand": "Prestige",
        "price": 2199,
        "category": "Kitchen >> Cookware",
    }
    scorer = DuplicateScorer.default()
    assert scorer.score(base, variant) > 0.8 > 0.2 > scorer.score(base, other)
    assert scorer.is_duplicate(base, variant) and not scorer.is_duplicate(base, other)
    f = pair_features({"title": "x"}, {})  # missing fields must not crash
    assert f["brand_missing"] == 1.0 and f["price_missing"] == 1.0
    assert pair_features(base, {**variant, "title": "Nike Pegasus 39"})["model_number_conflict"] == 1.0


def _hashing_encoder(texts: list[str]) -> np.ndarray:
    """Stand-in for MiniLM: hashed bag of words (keeps this test free of the model)."""
    out = np.zeros((len(texts), 64), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().split():
            out[i, hash(w) % 64] += 1.0
    return normalize(out)


def test_fit_labels_threshold_and_mining(tmp_path) -> None:
    rng = random.Random(0)
    rows = []
    for g in range(60):
        name = f"Brand{g % 7} {rng.choice(['Cotton', 'Silk', 'Denim'])} Shirt Model{g}"
        tree = f'["Clothing >> Men >> Shirts >> {name}"]'
        for _ in range(rng.choice([1, 2, 3])):
            rows.append(
                {
                    "product_name": name,
                    "product_category_tree": tree,
                    "brand": f"Brand{g % 7}",
                    "retail_price": str(500 + g),
                }
            )
    pairs = build_labelled_pairs_from_flipkart(rows, seed=1)
    assert {p.kind for p in pairs} >= {"positive", "hard", "random"}
    train, val, test = split_by_group(pairs, seed=0)
    assert not {p.group for p in train} & {p.group for p in test}
    scorer = DuplicateScorer()
    x_tr = scorer.matrix([(p.a, p.b) for p in train + test], encoder=_hashing_encoder)
    y_tr = np.array([p.label for p in train + test])
    x_val = scorer.matrix([(p.a, p.b) for p in val], encoder=_hashing_encoder)
    scorer.fit(x_tr, y_tr, x_val, np.array([p.label for p in val]))
    coef = dict(zip(scorer.features, scorer.coef, strict=True))
    assert coef["text_cosine"] >= 0 and coef["part_number_conflict"] <= 0  # sign constraints
    assert 0 < scorer.threshold < 1 and scorer.meta["val_f1"] > 0.5
    scorer.save(tmp_path / "dup.json")
    assert DuplicateScorer.load(tmp_path / "dup.json").to_dict() == scorer.to_dict()
    assert best_f1_threshold(np.array([1, 1, 0, 0]), np.array([0.9, 0.8, 0.3, 0.1]))[1] == 1.0

    products = [
        {"title": "Red Cotton Shirt", "brand": "A", "price": 10},
        {"title": "Red Cotton Shirt (XL)", "brand": "A", "price": 11},
        {"title": "Steel Pan", "brand": "B", "price": 30},
    ]
    vecs = normalize(np.array([[1, 0.05, 0], [1, 0.0, 0.05], [0, 0, 1]], dtype=np.float32))
    found = mine_duplicate_candidates(products, vecs, DuplicateScorer.default(), ids=["p1", "p2", "p3"])
    assert [(a, b) for a, b, _ in found] == [("p1", "p2")]


def test_text_encoder_normalised_and_semantic() -> None:
    from recommend.ml.text_encoder import get_text_encoder

    enc = get_text_encoder()
    assert get_text_encoder(None) is enc and get_text_encoder("") is enc  # cached per process
    texts = ["red cotton t-shirt for men", "men's crimson cotton tee", "stainless steel frying pan", ""]
    v = enc.encode(texts, batch_size=2)
    assert v.shape == (4, enc.dimension) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[:3], axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    assert np.allclose(enc.encode(texts[:1])[0], v[0], atol=1e-5)  # order-independent batching


def test_text_encoder_bfloat16_matches_float32() -> None:
    from recommend.ml.text_encoder import TextEncoder, get_text_encoder

    texts = ["red cotton t-shirt for men", "stainless steel frying pan with lid", "moisturizer for dry skin"]
    full = get_text_encoder(precision="fp32").encode(texts)
    fast = get_text_encoder(precision="bf16").encode(texts)
    assert (full * fast).sum(axis=1).min() > 0.999
    with pytest.raises(ValueError, match="precision"):
        TextEncoder(precision="int4")
