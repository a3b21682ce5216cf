"""The taxonomy builder (recommend.ml.hierarchy) on a small catalog with an obvious two-level structure."""

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from recommend.ml.hierarchy.autoencoder import AutoencoderConfig
from recommend.ml.hierarchy.builder import BuildConfig, brand_words, build_hierarchy, place
from recommend.ml.hierarchy.tree import TreeConfig

# coarse > fine, with the words that name each fine type
TYPES = {
    ("footwear", "sneakers"): ["sneakers", "running", "trainers"],
    ("footwear", "sandals"): ["sandals", "strap", "slides"],
    ("kitchen", "pans"): ["pan", "skillet", "frying"],
    ("kitchen", "knives"): ["knife", "chef", "blade"],
}
BRANDS = ["Acme", "Zenith", "Orbit"]


def catalog(per_type=12, seed=0):
    rng = np.random.default_rng(seed)
    titles, truth, vectors = [], [], []
    centres = {path: rng.standard_normal(32) for path in TYPES}
    coarse = {name: rng.standard_normal(32) * 3 for name in {path[0] for path in TYPES}}
    for path, words in TYPES.items():
        for index in range(per_type):
            brand = BRANDS[index % len(BRANDS)]
            titles.append(f"{brand} {words[index % 3]} {words[(index + 1) % 3]} {path[1]} size {index}")
            truth.append(path)
            vectors.append(coarse[path[0]] + centres[path] + rng.standard_normal(32) * 0.2)
    vectors = np.array(vectors, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    brands = [title.split()[0] for title in titles]
    return titles, truth, vectors, brands


def tree_config():
    return TreeConfig(depth=2, candidates=((2, 3, 4), (3, 4, 5, 6)), silhouette_sample=200)


@pytest.mark.parametrize("method", ["direct", "autoencoder"])
def test_the_built_tree_recovers_both_levels(method):
    titles, truth, vectors, brands = catalog()
    config = BuildConfig(
        method=method,
        counts=[2, 4],
        tree=tree_config(),
        autoencoder=AutoencoderConfig(
            code_sizes=(8, 16), hidden=64, pretrain_epochs=60, finetune_epochs=10, batch_size=16
        ),
    )

    built = build_hierarchy(titles, vectors, brands=brands, config=config)

    coarse_truth = [path[0] for path in truth]
    assert normalized_mutual_info_score(coarse_truth, built.levels.labels[0]) > 0.9
    assert normalized_mutual_info_score([" > ".join(path) for path in truth], built.levels.labels[1]) > 0.8
    assert [len(level) for level in built.nodes] == [2, 4] and built.method == method


def test_labels_name_the_product_type_not_the_brand_and_examples_differ():
    titles, _truth, vectors, brands = catalog()
    titles[0] = titles[1] = titles[2]  # one listing copied three times

    built = build_hierarchy(
        titles, vectors, brands=brands, config=BuildConfig(method="direct", counts=[2, 4], tree=tree_config())
    )

    # A node avoids its parent's words, so a type's name may sit on the coarse node above it.
    words = {word for level in built.nodes for node in level for word in node.label.lower().replace("/", " ").split()}
    assert not {"acme", "zenith", "orbit"} & words
    assert {"sneakers", "sandals", "pans", "knives"} <= words | {"pan", "knife"}
    for node in built.nodes[1]:
        examples = [titles[row] for row in node.examples]
        assert len(examples) == len(set(examples)) == min(3, node.size) and 0 < node.cohesion <= 1
    assert sum(node.size for node in built.nodes[1]) == len(titles)


def test_the_tree_chooses_its_own_counts_when_none_are_given():
    titles, _truth, vectors, brands = catalog()

    built = build_hierarchy(titles, vectors, brands=brands, config=BuildConfig(method="direct", tree=tree_config()))

    assert len(built.levels.chosen_counts) == 2 and built.levels.chosen_counts[0] <= built.levels.chosen_counts[1]


def test_a_new_product_is_placed_under_the_nearest_node_of_each_level():
    titles, _truth, vectors, brands = catalog()
    built = build_hierarchy(
        titles, vectors, brands=brands, config=BuildConfig(method="direct", counts=[2, 4], tree=tree_config())
    )

    path, similarity = place(vectors[:1], built.centroids, built.levels.parents)

    assert path[0, 1] == built.levels.labels[1][0] and path[0, 0] == built.levels.labels[0][0]
    assert similarity[0] > 0.5


def test_brand_words_keep_only_brands_with_several_products():
    assert brand_words(["acme", "acme", "acme", "solo"]) == frozenset({"acme"})
