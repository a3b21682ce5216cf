"""Cross-encoder matcher: the local MiniLM weights fine-tuned to read both records at once.

The two records go through the transformer together ("[CLS] a [SEP] b"), so attention can
line up "DAVHDX275" with "DAV-HDX275" or "64GB" with "64 GB" directly, which two separate
embeddings cannot. A one-logit head on the pooled output is trained with binary cross
entropy; the threshold is the F1-optimal one on a validation part. A few thousand pairs
train in minutes on two CPU cores (short records, dynamic padding). It is the strong,
slower option: the feature scorer stays the first stage that picks candidates. ``device`` (default the CPU,
"auto" a GPU when there is one) is where it trains and scores; the saved weights are CPU tensors.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import best_f1_threshold
from .features import Product, record_text

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

Progress = Callable[[float, str], None]
META_FILE = "matcher.json"


def _default_model_path() -> Path:
    from recommend.ml.text_encoder import default_model_path

    return default_model_path()


class CrossEncoderMatcher:
    """Fine-tune, score, save and load a pair classifier on top of a local encoder directory."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        max_length: int = 96,
        threshold: float = 0.5,
        device: str = "cpu",
    ):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from recommend.ml.common.device import torch_device

        self.device = torch_device(device)
        hf_logging.set_verbosity_error()  # "newly initialized head" is expected here
        hf_logging.disable_progress_bar()
        self.model_path = Path(model_path) if model_path else _default_model_path()
        self.max_length = max_length
        self.threshold = threshold
        self.meta: dict[str, Any] = {}
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_path), local_files_only=True)
        # Loaded on the CPU (the new head is initialised there, the same on every machine), then moved.
        self.model = AutoModelForSequenceClassification.from_pretrained(
            str(self.model_path), num_labels=1, local_files_only=True
        ).to(self.device)
        self._torch = torch

    def _batch(self, pairs: Sequence[tuple[Product, Product]]) -> Any:
        return self.tokenizer(
            [record_text(a) for a, _ in pairs],
            [record_text(b) for _, b in pairs],
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device)

    def fit(
        self,
        pairs: Sequence[tuple[Product, Product]],
        labels: Sequence[int],
        *,
        val_pairs: Sequence[tuple[Product, Product]] = (),
        val_labels: Sequence[int] = (),
        epochs: int = 2,
        batch_size: int = 16,
        learning_rate: float = 4e-5,
        seed: int = 0,
        progress: Progress | None = None,
    ) -> CrossEncoderMatcher:
        """Fine-tune on (pairs, labels); the threshold is chosen on the validation pairs."""
        torch = self._torch
        torch.manual_seed(seed)
        order = list(range(len(pairs)))
        steps = max(epochs * ((len(order) + batch_size - 1) // batch_size), 1)
        optimiser = torch.optim.AdamW(self.model.parameters(), lr=learning_rate, weight_decay=0.01)
        warmup = max(steps // 10, 1)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda s: min((s + 1) / warmup, max((steps - s) / max(steps - warmup, 1), 0.0))
        )
        loss_fn = torch.nn.BCEWithLogitsLoss()
        started, step = time.monotonic(), 0
        self.model.train()
        for epoch in range(epochs):
            random.Random(seed + epoch).shuffle(order)
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = self._batch([pairs[i] for i in idx])
                target = torch.tensor([float(labels[i]) for i in idx], device=self.device)
                loss = loss_fn(self.model(**batch).logits.squeeze(-1), target)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                optimiser.step()
                schedule.step()
                optimiser.zero_grad()
                step += 1
                if progress and (step % 20 == 0 or step == steps):
                    progress(step / steps, f"epoch {epoch + 1}/{epochs}, loss {float(loss):.3f}")
        self.model.eval()
        self.meta.update({"train_pairs": len(pairs), "epochs": epochs, "train_seconds": time.monotonic() - started})
        if len(val_pairs):
            self.threshold, f1 = best_f1_threshold(np.asarray(val_labels), self.score_pairs(val_pairs))
            self.meta["val_f1"] = f1
        return self

    def score_pairs(self, pairs: Sequence[tuple[Product, Product]], batch_size: int = 64) -> np.ndarray:
        """Match probability per pair, 0..1 (batched by length so padding stays short)."""
        torch = self._torch
        out = np.zeros(len(pairs), dtype=np.float64)
        lengths = [len(record_text(a)) + len(record_text(b)) for a, b in pairs]
        order = np.argsort(lengths, kind="stable")
        with torch.inference_mode():
            for start in range(0, len(pairs), batch_size):
                idx = order[start : start + batch_size]
                logits = self.model(**self._batch([pairs[i] for i in idx])).logits.squeeze(-1)
                out[idx] = torch.sigmoid(logits.float()).cpu().numpy()
        return out

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        # CPU tensors whatever device trained it, so a CPU-only process can load what a GPU worker saved.
        state = {key: value.detach().cpu() for key, value in self.model.state_dict().items()}
        self.model.save_pretrained(str(directory), state_dict=state)
        self.tokenizer.save_pretrained(str(directory))
        meta = {"kind": "cross_encoder", "threshold": self.threshold, "max_length": self.max_length, "meta": self.meta}
        (directory / META_FILE).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu") -> CrossEncoderMatcher:
        meta = json.loads((Path(directory) / META_FILE).read_text())
        matcher = cls(directory, max_length=int(meta["max_length"]), threshold=float(meta["threshold"]), device=device)
        matcher.meta = dict(meta.get("meta", {}))
        matcher.model.eval()
        return matcher
