"""The torch device choice (TORCH_DEVICE): a GPU when one is present, the CPU otherwise, and CPU artifacts always.

No GPU is needed: the choice is tested by patching what torch reports, and training runs on "cpu". The last test
trains on CUDA and loads on the CPU; it is skipped where torch sees no CUDA GPU.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from recommend.ml.classification import TrainedClassifier, train_classifier
from recommend.ml.common.device import cpu_state, is_valid_preference, module_device, torch_device
from recommend.ml.sequential.data import ItemVocabulary, leave_one_out
from recommend.ml.sequential.pipeline import SequentialArtifact
from recommend.ml.sequential.sasrec import SASRecConfig
from recommend.ml.sequential.training import SASRecRecommender, TrainingConfig
from tests.unit.test_ml_classifier import TINY, make_data
from tests.unit.test_ml_sequential import FAST, cyclic_sequences

ROOT = Path(__file__).resolve().parents[2]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA GPU here")


@pytest.fixture
def gpu_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


# --- the choice ------------------------------------------------------------------------


@pytest.mark.parametrize("preference", ["auto", "AUTO", " auto ", "", None])
def test_auto_picks_cuda_when_torch_sees_a_gpu(gpu_present, preference):
    assert torch_device(preference) == torch.device("cuda")


@pytest.mark.parametrize("preference", ["auto", "", None])
def test_auto_falls_back_to_the_cpu_without_a_gpu(no_gpu, preference):
    assert torch_device(preference) == torch.device("cpu")


def test_cpu_is_the_cpu_even_with_a_gpu_present(gpu_present):
    assert torch_device("cpu") == torch.device("cpu")
    assert torch_device(torch.device("cpu")) == torch.device("cpu")


def test_a_named_gpu_is_used_when_present(gpu_present):
    assert torch_device("cuda") == torch.device("cuda")
    assert torch_device("cuda:0") == torch.device("cuda", 0)


@pytest.mark.parametrize("preference", ["cuda", "cuda:1", torch.device("cuda")])
def test_a_named_gpu_that_is_missing_is_a_clear_error(no_gpu, preference):
    with pytest.raises(ValueError, match=r"TORCH_DEVICE=cuda.*torch sees none.*TORCH_DEVICE=auto"):
        torch_device(preference)


def test_a_gpu_number_past_the_last_one_is_a_clear_error(gpu_present):
    with pytest.raises(ValueError, match=r"TORCH_DEVICE=cuda:1: torch sees only 1 CUDA device"):
        torch_device("cuda:1")


def test_mps_is_never_chosen_by_auto_and_a_missing_one_is_an_error(no_gpu, monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert torch_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="TORCH_DEVICE=mps"):
        torch_device("mps")


@pytest.mark.parametrize("preference", ["gpu", "cuda:x", "tpu", "cpu:0:1", "cuda0"])
def test_a_misspelt_device_names_the_setting_and_the_choices(preference):
    assert not is_valid_preference(preference)
    with pytest.raises(ValueError, match=r"TORCH_DEVICE: .* is not a torch device; use one of auto, cpu, cuda"):
        torch_device(preference)


def test_settings_reject_a_misspelt_torch_device_at_startup():
    env = {**os.environ, "TORCH_DEVICE": "gpu", "DJANGO_SETTINGS_MODULE": "config.settings"}
    run = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode != 0
    assert "ImproperlyConfigured" in run.stderr and "TORCH_DEVICE='gpu'" in run.stderr


def test_the_setting_defaults_to_auto():
    from config import capability_settings

    if "TORCH_DEVICE" not in os.environ:
        assert capability_settings.TORCH_DEVICE == "auto"


def test_library_calls_that_ask_for_a_missing_gpu_fail_before_any_work(no_gpu, tmp_path):
    texts, paths = make_data(3, seed=0)
    with pytest.raises(ValueError, match="TORCH_DEVICE"):
        train_classifier(texts, paths, TINY, device="cuda")
    with pytest.raises(ValueError, match="TORCH_DEVICE"):
        SASRecRecommender(SASRecConfig(n_items=3), TrainingConfig(**FAST), device="cuda")


# --- training on an explicit "cpu" and CPU artifacts ------------------------------------------


def _all_tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _all_tensors(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _all_tensors(item)


def test_classifier_trains_on_an_explicit_cpu_exactly_as_by_default_and_saves_cpu_tensors():
    texts, paths = make_data(6, seed=3)
    default = train_classifier(texts, paths, TINY)
    on_cpu = train_classifier(texts, paths, TINY, device="cpu")
    assert on_cpu.device == torch.device("cpu")
    for (key, a), (_, b) in zip(default.net.state_dict().items(), on_cpu.net.state_dict().items(), strict=True):
        assert torch.equal(a, b), key  # same seed, same numbers: the device change is a no-op on the CPU
    buffer = io.BytesIO()
    on_cpu.save(buffer)
    stored = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)  # no map_location: the devices as saved
    assert {t.device.type for t in _all_tensors(stored)} == {"cpu"}
    restored = TrainedClassifier.load(buffer.getvalue(), device="cpu")
    assert restored.device == torch.device("cpu")
    assert restored.predict(texts, top_k=2) == on_cpu.predict(texts, top_k=2)


def test_classifier_load_and_to_follow_the_device_setting(no_gpu):
    texts, paths = make_data(3, seed=4)
    model = train_classifier(texts, paths, TINY)
    buffer = io.BytesIO()
    model.save(buffer)
    assert TrainedClassifier.load(buffer.getvalue(), device="auto").device == torch.device("cpu")
    with pytest.raises(ValueError, match="TORCH_DEVICE=cuda"):
        TrainedClassifier.load(buffer.getvalue(), device="cuda")
    assert model.to("cpu") is model and model._path_table.device.type == "cpu"


def test_sasrec_trains_on_an_explicit_cpu_and_its_artifacts_hold_cpu_tensors(tmp_path):
    sequences = cyclic_sequences(users=40)
    vocabulary = ItemVocabulary.from_sequences(sequences)
    split = leave_one_out([vocabulary.encode(s) for s in sequences])
    config = SASRecConfig(n_items=vocabulary.size, hidden=16, layers=1, max_length=10)

    def fit(**device):
        torch.manual_seed(0)
        return SASRecRecommender(config, TrainingConfig(epochs=3, **FAST), **device).fit(
            split.train, valid_histories=split.valid_histories(), valid_targets=split.valid_target
        )

    default, on_cpu = fit(), fit(device="cpu")
    assert module_device(on_cpu.model) == torch.device("cpu")
    for key, value in default.model.state_dict().items():
        assert torch.equal(value, on_cpu.model.state_dict()[key]), key
    assert default.report.curve == on_cpu.report.curve

    SequentialArtifact(on_cpu, vocabulary, np.zeros(vocabulary.size + 1)).save(tmp_path / "model.pt")
    on_cpu.save(tmp_path)
    for saved in (tmp_path / "model.pt", tmp_path / "sasrec.pt"):
        state = torch.load(saved, weights_only=False)  # no map_location: the devices as saved
        assert {t.device.type for t in _all_tensors(state)} == {"cpu"}
    loaded = SequentialArtifact.load(tmp_path / "model.pt", device="cpu")
    assert np.array_equal(loaded.recommender.score([[1, 2, 3]]), on_cpu.score([[1, 2, 3]]))
    assert np.array_equal(SASRecRecommender.load(tmp_path).score([[2, 3]]), on_cpu.score([[2, 3]]))


def test_cpu_state_moves_nothing_on_the_cpu():
    layer = torch.nn.Linear(2, 2)
    state = cpu_state(layer)
    assert all(state[key].data_ptr() == value.data_ptr() for key, value in layer.state_dict().items())


def test_autoencoder_and_graph_train_on_an_explicit_cpu():
    import scipy.sparse as sp

    from recommend.ml.bought_together.graph import CoPurchaseGraphModel, GraphConfig
    from recommend.ml.hierarchy.autoencoder import AutoencoderConfig, encode_levels, train_autoencoder

    vectors = np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32)
    small = {"code_sizes": (2, 4), "hidden": 8, "pretrain_epochs": 1, "finetune_epochs": 1, "cluster_counts": (2, 3)}
    default = encode_levels(train_autoencoder(vectors, AutoencoderConfig(**small)), vectors)
    on_cpu = encode_levels(train_autoencoder(vectors, AutoencoderConfig(**small, device="cpu")), vectors)
    assert all(np.array_equal(a, b) for a, b in zip(default, on_cpu, strict=True))

    baskets = [[0, 1, 2], [1, 2], [2, 3], [0, 3, 4], [4, 1]]
    pairs = sp.lil_matrix((5, 5))
    for basket in baskets:
        for i in basket:
            for j in basket:
                pairs[i, j] += i != j
    kwargs = {"n_items": 5, "pair_counts": pairs.tocsr(), "item_counts": np.ones(5)}
    graphs = [
        CoPurchaseGraphModel(GraphConfig(dim=4, epochs=2)).fit(baskets, **kwargs, **d) for d in ({}, {"device": "cpu"})
    ]
    assert np.array_equal(graphs[0].item_vectors, graphs[1].item_vectors)


# --- on a GPU machine (skipped without one) ----------------------------------------------------


def _saved_devices(source) -> set[str]:
    return {t.device.type for t in _all_tensors(torch.load(source, weights_only=False))}


@needs_cuda
def test_a_classifier_trained_on_a_gpu_loads_on_the_cpu_and_back():
    texts, paths = make_data(8, seed=5)
    model = train_classifier(texts, paths, TINY, device="cuda")
    assert model.device.type == "cuda" and model.log_priors[0].device.type == "cuda"
    buffer = io.BytesIO()
    model.save(buffer)
    assert _saved_devices(io.BytesIO(buffer.getvalue())) == {"cpu"}
    on_cpu = TrainedClassifier.load(buffer.getvalue(), device="cpu")
    assert on_cpu.device.type == "cpu"
    on_gpu = [p.path for p in model.predict_best(texts)]
    assert [p.path for p in on_cpu.predict_best(texts)] == on_gpu
    assert TrainedClassifier.load(buffer.getvalue(), device="auto").predict_paths(texts) == on_gpu
    assert on_cpu.to("cuda").predict_paths(texts) == on_gpu

    from recommend.ml.classification.evidence import path_evidence

    assert len(path_evidence(model, texts[0], [on_gpu[0]])) == 1  # occlusion evidence runs on the GPU too


@needs_cuda
def test_sasrec_trained_on_a_gpu_loads_on_the_cpu_and_explains_on_both(tmp_path):
    from recommend.ml.sequential.explain import history_weights, scores_and_attention

    split = leave_one_out(cyclic_sequences(users=40))
    config = SASRecConfig(n_items=12, hidden=16, layers=1, max_length=10, dropout=0.0, attention_dropout=0.0)
    for negatives in (0, 4):
        training = TrainingConfig(epochs=3, negatives=negatives, **{**FAST, "evaluate_every": 1})
        recommender = SASRecRecommender(config, training, device="cuda").fit(
            split.train, valid_histories=split.valid_histories(), valid_targets=split.valid_target
        )
    assert module_device(recommender.model).type == "cuda"
    SequentialArtifact(recommender, ItemVocabulary(ids=list(range(1, 13))), np.zeros(13)).save(tmp_path / "model.pt")
    assert _saved_devices(tmp_path / "model.pt") == {"cpu"}
    loaded = SequentialArtifact.load(tmp_path / "model.pt", device="cpu").recommender
    assert np.allclose(loaded.score([[1, 2, 3]]), recommender.score([[1, 2, 3]]), atol=1e-4)
    for served in (recommender, loaded):
        scores, attention = scores_and_attention(served, [1, 2, 3])
        assert scores.shape == (13,) and attention.shape == (3,)
        for method in ("attention", "similarity", "attention_similarity", "occlusion"):
            assert history_weights(served, [1, 2, 3], [4], method).shape == (1, 3)


@needs_cuda
def test_autoencoder_graph_and_encoders_run_on_a_gpu(tmp_path):
    import scipy.sparse as sp

    from recommend.ml.bought_together.graph import CoPurchaseGraphModel, GraphConfig
    from recommend.ml.duplicates.cross_encoder import CrossEncoderMatcher
    from recommend.ml.hierarchy.autoencoder import AutoencoderConfig, encode_levels, train_autoencoder
    from recommend.ml.text_encoder import TextEncoder

    vectors = np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32)
    small = {"code_sizes": (2, 4), "hidden": 8, "pretrain_epochs": 1, "finetune_epochs": 1, "cluster_counts": (2, 3)}
    model = train_autoencoder(vectors, AutoencoderConfig(**small, device="cuda"))
    assert module_device(model).type == "cuda"
    assert [codes.shape for codes in encode_levels(model, vectors)] == [(60, 2), (60, 4)]

    pairs = sp.csr_matrix(np.ones((5, 5)) - np.eye(5))
    graph = CoPurchaseGraphModel(GraphConfig(dim=4, epochs=2)).fit(
        [[0, 1, 2], [2, 3, 4]], n_items=5, pair_counts=pairs, item_counts=np.ones(5), device="cuda"
    )
    assert graph.item_vectors.shape == (5, 4)

    texts = ["red running shoes", "Apple iPhone 12 case"]
    on_gpu = TextEncoder(precision="fp32", device="cuda").encode(texts)
    on_cpu = TextEncoder(precision="fp32", device="cpu").encode(texts)
    assert np.allclose((on_gpu * on_cpu).sum(axis=1), 1.0, atol=1e-4)

    records = [({"title": f"acme widget {i}"}, {"title": f"acme widget {i + i % 2}"}) for i in range(8)]
    matcher = CrossEncoderMatcher(max_length=32, device="cuda").fit(records, [i % 2 == 0 for i in range(8)], epochs=1)
    matcher.save(tmp_path / "matcher")
    back = CrossEncoderMatcher.load(tmp_path / "matcher", device="cpu")
    assert np.allclose(back.score_pairs(records), matcher.score_pairs(records), atol=1e-3)
