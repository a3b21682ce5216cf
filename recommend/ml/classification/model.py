"""Hierarchical coarse-to-fine product classifier (pure torch + numpy).

Public API::

    config = ClassifierConfig(epochs=10)
    model = train_classifier(texts, paths, config, progress=print_progress)
    model.predict(["Nike Men Blue Running Shoes"], top_k=3)
        -> [[Prediction(path=("Footwear", "Shoes", "Sports Shoes"),
                        confidence=0.93, attention=[("running", 0.41), ...]), ...]]
    model.save("model.pt");  TrainedClassifier.load("model.pt", device="auto")

Two experts score each level.  The deep one (BiGRU + attention + n-gram bag,
trained with class-balanced, label-smoothed cross-entropy) and a wide one: a
per-level linear model on the title's TF-IDF vector (word 1-2 grams and char
2-5 grams within words, each block L2-normalised), solved as a one-vs-rest
L2-loss linear SVM by dual coordinate descent.  Per level they are combined as
a product of experts, ``deep_weight * deep log-probs + wide_scale * SVM scores
- tau * log prior``; decoding scores every known path as the sum of its
per-level log-probs and returns the best ones, so predictions are always real
paths of the tree.  The mix and ``tau`` come from grids in the config (the
defaults were chosen on a development split carved from training data) and
are picked on a validation slice of the training data, never on test data.

Training and inference run on the device the caller names (``train_classifier(..., device=)``,
``load(..., device=)``, ``to(device)``; see ``recommend.ml.common.device``); saved files always hold CPU
tensors, so a model trained on a GPU loads on a CPU-only machine and the other way round.
"""

from __future__ import annotations

import io
from dataclasses import asdict, fields
from pathlib import Path
from typing import IO

import torch

from recommend.ml.classification.config import GRID_FIELDS, ClassifierConfig, Prediction
from recommend.ml.classification.hierarchy import HierarchyLabels
from recommend.ml.classification.net import HierarchicalGRUNet
from recommend.ml.classification.tokens import EncodedBatch, TokenEncoder
from recommend.ml.common.device import DeviceLike, cpu_state, module_device, torch_device
from recommend.ml.common.progress import ProgressCallback

FORMAT = "hierarchical-gru-classifier/2"


class TrainedClassifier:
    def __init__(
        self,
        config: ClassifierConfig,
        encoder: TokenEncoder,
        labels: HierarchyLabels,
        net: HierarchicalGRUNet,
        log_priors: list[torch.Tensor],
        tau: float = 0.0,
        wide_scale: float = 0.0,
        deep_weight: float = 1.0,
    ) -> None:
        self.config, self.encoder, self.labels, self.net = config, encoder, labels, net
        device = module_device(net)  # the other tensors follow the network
        self.log_priors = [prior.to(device) for prior in log_priors]
        self.tau = tau  # logit-adjustment strength, chosen on validation data
        # The experts' mix, ditto: SVM scores live in about [-1, 1], hence a large wide_scale.
        self.wide_scale = wide_scale
        self.deep_weight = deep_weight
        # Path scores are divided by this before the softmax that gives confidences; fitted on
        # validation data after training so that "confidence 0.8" is right about 80 % of the time.
        self.temperature = 1.0
        self.net.eval()
        # (P, depth) class per level; -1 marks levels below a path's END.
        self._path_table = torch.as_tensor(labels.path_table, device=device)

    @property
    def device(self) -> torch.device:
        return module_device(self.net)

    def to(self, device: DeviceLike) -> TrainedClassifier:
        """Move the model (network, priors, path table) to `device` ("auto", "cpu", "cuda", ...); returns it."""
        target = torch_device(device)
        self.net.to(target)
        self.log_priors = [prior.to(target) for prior in self.log_priors]
        self._path_table = self._path_table.to(target)
        return self

    # -- scoring -----------------------------------------------------------
    def _forward(
        self, batch: EncodedBatch, wide: bool = True
    ) -> tuple[list[torch.Tensor], list[torch.Tensor] | None, torch.Tensor]:
        b = batch
        deep = (b.word_ids, b.lengths, b.token_ngrams, b.token_offsets, b.bag_ids, b.bag_offsets)
        extra = (b.wide_ids, b.wide_weights, b.wide_offsets) if wide else ()
        device = self.device
        tensors = [torch.as_tensor(x) for x in (*deep, *extra)]
        # Lengths (position 1) stay on the CPU: pack_padded_sequence wants them there.
        return self.net(*(t if position == 1 else t.to(device) for position, t in enumerate(tensors)))

    def _path_scores(
        self,
        deep: list[torch.Tensor],
        wide: list[torch.Tensor] | None,
        tau: float,
        wide_scale: float,
        deep_weight: float,
    ) -> torch.Tensor:
        """(B, P) sum over levels of the mixed, logit-adjusted log-probs of each known path.

        Per level, a product of experts: ``deep_weight * deep log-probs + wide_scale *
        wide scores - tau * log prior``, renormalised.
        """
        total = torch.zeros(deep[0].shape[0], self._path_table.shape[0], device=deep[0].device)
        for k, level_logits in enumerate(deep):
            mixed = deep_weight * torch.log_softmax(level_logits, dim=1) if deep_weight else 0.0
            if wide is not None and wide_scale:
                mixed = mixed + wide_scale * wide[k]
            logp = torch.log_softmax(mixed - tau * self.log_priors[k], dim=1)
            logp = torch.cat([logp, logp.new_zeros(logp.shape[0], 1)], dim=1)
            total += logp[:, self._path_table[:, k]]  # index -1 hits the zero column
        return total

    def _batches(self, texts: list[str], batch_size: int, wide: bool = True):
        # Length-sorted batches waste less work on padding; order is restored by index.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            yield idx, self.encoder.encode([texts[i] for i in idx], wide=wide)

    @torch.inference_mode()
    def predict(
        self, texts: list[str], top_k: int = 3, attention_words: int = 5, batch_size: int = 512
    ) -> list[list[Prediction]]:
        """Top-k valid paths per text, best first, with confidences and attention words."""
        self.net.eval()
        out: list[list[Prediction]] = [[] for _ in texts]
        k = max(1, min(top_k, len(self.labels.paths)))
        for idx, batch in self._batches(texts, batch_size):
            deep, wide, attention = self._forward(batch)
            scores = self._path_scores(deep, wide, self.tau, self.wide_scale, self.deep_weight)
            probs = torch.softmax(scores / self.temperature, dim=1)
            conf, best = probs.topk(k, dim=1)
            for row, i in enumerate(idx):
                words = _top_words(batch.tokens[row], attention[row], attention_words)
                out[i] = [
                    Prediction(self.labels.paths[p], float(c), words)
                    for p, c in zip(best[row].tolist(), conf[row].tolist(), strict=False)
                ]
        return out

    def predict_best(self, texts: list[str], attention_words: int = 5, batch_size: int = 512) -> list[Prediction]:
        """One call for the top-1 path per text with its confidence and attention words."""
        return [preds[0] for preds in self.predict(texts, 1, attention_words, batch_size)]

    @torch.inference_mode()
    def predict_paths(self, texts: list[str], batch_size: int = 512) -> list[tuple[str, ...]]:
        """Fast top-1 paths only (no attention bookkeeping)."""
        deep, wide = self.level_logits(texts, batch_size)
        return self.decode(deep, wide, self.tau, self.wide_scale, self.deep_weight)

    @torch.inference_mode()
    def level_logits(
        self, texts: list[str], batch_size: int = 512, wide: bool = True
    ) -> tuple[list[torch.Tensor], list[torch.Tensor] | None]:
        """Raw per-level logits of both experts, in input order (for tuning the mix)."""
        self.net.eval()
        idx_all: list[int] = []
        deep_parts: list[list[torch.Tensor]] = []
        wide_parts: list[list[torch.Tensor]] = []
        for idx, batch in self._batches(texts, batch_size, wide=wide):
            deep, wide_logits, _ = self._forward(batch)
            idx_all.extend(idx)
            deep_parts.append(deep)
            if wide_logits is not None:
                wide_parts.append(wide_logits)
        inverse = torch.argsort(torch.as_tensor(idx_all)).to(self.device)
        depth = self.labels.depth
        deep_out = [torch.cat([part[k] for part in deep_parts])[inverse] for k in range(depth)]
        wide_out = [torch.cat([part[k] for part in wide_parts])[inverse] for k in range(depth)] if wide_parts else None
        return deep_out, wide_out

    @torch.inference_mode()
    def decode(
        self,
        deep: list[torch.Tensor],
        wide: list[torch.Tensor] | None,
        tau: float,
        wide_scale: float,
        deep_weight: float,
    ) -> list[tuple[str, ...]]:
        best = self._path_scores(deep, wide, tau, wide_scale, deep_weight).argmax(dim=1).tolist()
        return [self.labels.paths[p] for p in best]

    # -- persistence -------------------------------------------------------
    def save(self, target: str | Path | IO[bytes]) -> None:
        """Plain dicts/lists/CPU tensors only, so ``load`` can use ``weights_only=True`` on any machine."""
        config = asdict(self.config)
        for key in GRID_FIELDS:
            config[key] = list(config[key])
        payload = {
            "format": FORMAT,
            "config": config,
            "vocab": self.encoder.vocab,
            "wide_map": torch.as_tensor(self.encoder.wide_map),
            "wide_idf": torch.as_tensor(self.encoder.wide_idf),
            "paths": [list(p) for p in self.labels.paths],
            "log_priors": [prior.cpu() for prior in self.log_priors],
            "tau": self.tau,
            "wide_scale": self.wide_scale,
            "deep_weight": self.deep_weight,
            "temperature": self.temperature,
            # The wide tables (features x classes) dominate the file: half precision halves it
            # at no measurable cost; ``load_state_dict`` copies them back into float32.
            "state_dict": {k: v.half() if k.startswith("wide.") else v for k, v in cpu_state(self.net).items()},
        }
        torch.save(payload, target)

    @classmethod
    def load(cls, source: str | Path | IO[bytes] | bytes, device: DeviceLike = "cpu") -> TrainedClassifier:
        """Read a saved model (always CPU tensors) and put it on `device` ("auto": a GPU when there is one)."""
        target = torch_device(device)
        if isinstance(source, bytes):
            source = io.BytesIO(source)
        payload = torch.load(source, map_location="cpu", weights_only=True)
        if payload.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file (retrain the classifier to replace an older one)")
        known = {f.name for f in fields(ClassifierConfig)}
        cfg = {k: v for k, v in payload["config"].items() if k in known}
        for key in GRID_FIELDS:
            cfg[key] = tuple(cfg.get(key, ()))
        config = ClassifierConfig(**cfg)
        labels = HierarchyLabels([tuple(p) for p in payload["paths"]])
        encoder = make_encoder(payload["vocab"], config)
        encoder.wide_map = payload["wide_map"].numpy()
        encoder.wide_idf = payload["wide_idf"].numpy()
        net = make_net(config, encoder, labels)
        net.load_state_dict(payload["state_dict"])
        net.to(target)
        model = cls(
            config,
            encoder,
            labels,
            net,
            payload["log_priors"],
            payload["tau"],
            payload["wide_scale"],
            payload["deep_weight"],
        )
        model.temperature = float(payload.get("temperature", 1.0))
        return model


def _top_words(tokens: list[str], weights: torch.Tensor, n: int) -> list[tuple[str, float]]:
    # A word repeated in a title gets the sum of its positions' weights.
    merged: dict[str, float] = {}
    for tok, w in zip(tokens, weights[: len(tokens)].tolist(), strict=False):
        merged[tok] = merged.get(tok, 0.0) + w
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(tok, round(w, 4)) for tok, w in ranked[:n]]


def make_encoder(vocab: list[str], config: ClassifierConfig) -> TokenEncoder:
    return TokenEncoder(
        vocab, config.buckets, config.ngram_min, config.ngram_max, config.max_len, config.wide_ngram_min
    )


def make_net(config: ClassifierConfig, encoder: TokenEncoder, labels: HierarchyLabels):
    return HierarchicalGRUNet(
        vocab_size=len(encoder.vocab),
        buckets=config.buckets,
        embedding_dim=config.embedding_dim,
        hidden_dim=config.hidden_dim,
        attention_dim=config.attention_dim,
        bag_dim=config.bag_dim,
        num_classes=labels.num_classes,
        dropout=config.dropout,
        wide_size=encoder.wide_size,
    )


def train_classifier(
    texts: list[str],
    paths: list[tuple[str, ...]],
    config: ClassifierConfig | None = None,
    progress: ProgressCallback | None = None,
    validation: tuple[list[str], list[tuple[str, ...]]] | None = None,
    device: DeviceLike = "cpu",
) -> TrainedClassifier:
    """Train on (text, category path) pairs on `device` ("auto", "cpu", "cuda", ...); see ``training.fit``."""
    # Imported here because the training module itself imports this one (it builds a TrainedClassifier).
    from recommend.ml.classification.training import fit

    return fit(texts, paths, config or ClassifierConfig(), progress, validation, device)
