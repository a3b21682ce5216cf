"""SASRec: a causal self-attention sequential recommender (Kang & McAuley, 2018), in plain torch.

Item and position embeddings feed pre-norm transformer blocks with a causal mask; the hidden
state at each position scores every item through the same item embedding table. It is trained
with full softmax cross-entropy over the whole catalogue (not one sampled negative per position),
the change that moves SASRec from about 0.06 to above 0.09 HR@10 on Amazon Beauty. The last
block's attention from the newest position over the history is kept for explanations.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recommend.ml.common.device import cpu_state
from recommend.ml.common.protocol import register_model
from recommend.ml.sequential.data import PAD


@dataclass(frozen=True)
class SASRecConfig:
    n_items: int
    hidden: int = 64
    layers: int = 2
    heads: int = 1
    max_length: int = 50
    dropout: float = 0.5
    attention_dropout: float = 0.5


class CausalSelfAttention(nn.Module):
    def __init__(self, config: SASRecConfig) -> None:
        super().__init__()
        self.heads = config.heads
        self.qkv = nn.Linear(config.hidden, 3 * config.hidden)
        self.out = nn.Linear(config.hidden, config.hidden)
        self.attention_dropout = config.attention_dropout

    def forward(self, x: torch.Tensor, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        batch, length, hidden = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, hidden // self.heads).permute(2, 0, 3, 1, 4)
        if not need_weights:
            dropout = self.attention_dropout if self.training else 0.0
            mixed = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)
            weights = None
        else:
            logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
            causal = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
            weights = logits.masked_fill(~causal, float("-inf")).softmax(dim=-1)
            mixed = weights @ v
            weights = weights.mean(dim=1)  # (batch, length, length), averaged over heads
        return self.out(mixed.transpose(1, 2).reshape(batch, length, hidden)), weights


class Block(nn.Module):
    def __init__(self, config: SASRecConfig) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(config.hidden)
        self.attention = CausalSelfAttention(config)
        self.feed_forward_norm = nn.LayerNorm(config.hidden)
        self.feed_forward = nn.Sequential(
            nn.Linear(config.hidden, config.hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.hidden),
        )
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        mixed, weights = self.attention(self.attention_norm(x), need_weights)
        x = x + self.dropout(mixed)
        x = x + self.dropout(self.feed_forward(self.feed_forward_norm(x)))
        return x, weights


@register_model("sequential", "sasrec")
class SASRec(nn.Module):
    def __init__(self, config: SASRecConfig) -> None:
        super().__init__()
        self.config = config
        self.item_embedding = nn.Embedding(config.n_items + 1, config.hidden, padding_idx=PAD)
        self.position_embedding = nn.Embedding(config.max_length, config.hidden)
        self.embedding_dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.final_norm = nn.LayerNorm(config.hidden)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def init_item_vectors(self, vectors: np.ndarray) -> None:
        """Start item embeddings from content vectors (rows 1..n), so unseen items get a sensible place."""
        projected = torch.as_tensor(vectors, dtype=torch.float32)
        projected = projected - projected.mean(dim=0)
        # PCA to the hidden size keeps the directions that separate items most.
        _, _, basis = torch.pca_lowrank(projected, q=self.config.hidden, center=False)
        projected = projected @ basis[:, : self.config.hidden]
        projected = projected / projected.std() * 0.02
        with torch.no_grad():
            self.item_embedding.weight[1:] = projected.to(self.item_embedding.weight.device)

    def encode(self, items: torch.Tensor, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Hidden states (batch, length, hidden) and, on request, the last block's attention."""
        positions = torch.arange(items.shape[1], device=items.device)
        x = self.item_embedding(items) * math.sqrt(self.config.hidden) + self.position_embedding(positions)
        x = self.embedding_dropout(x)
        weights = None
        for block in self.blocks:
            x, weights = block(x, need_weights)
        return self.final_norm(x), weights

    def item_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = hidden @ self.item_embedding.weight.T
        logits[..., PAD] = float("-inf")
        return logits

    def calculate_loss(self, window: torch.Tensor, negatives: int = 0) -> torch.Tensor:
        """Softmax cross-entropy of every next item in a batch of padded windows (inputs + 1).

        `negatives=0` is the full softmax over the catalogue; otherwise the positive competes with
        that many uniformly sampled items shared by the batch (sampled softmax, much cheaper on CPU).
        """
        inputs, targets = window[:, :-1], window[:, 1:]
        hidden, _ = self.encode(inputs)
        real = targets != PAD
        # Only real positions reach the (positions x items) product: most of a batch is padding.
        hidden, targets = hidden[real], targets[real]
        if not negatives:
            # Rows 1.. (no pad column) avoid masking a huge logits tensor in place.
            return F.cross_entropy(hidden @ self.item_embedding.weight[1:].T, targets - 1)
        sampled = torch.randint(1, self.config.n_items + 1, (negatives,), device=window.device)
        positive = (hidden * self.item_embedding(targets)).sum(dim=-1, keepdim=True)
        negative = hidden @ self.item_embedding(sampled).T
        # A sampled item that is the position's own target is not a negative.
        negative = negative.masked_fill(sampled[None, :] == targets[:, None], float("-inf"))
        logits = torch.cat([positive, negative], dim=1)
        return F.cross_entropy(logits, torch.zeros(len(targets), dtype=torch.long, device=window.device))

    def last_hidden(self, items: torch.Tensor, lengths: torch.Tensor, need_weights: bool = False):
        hidden, weights = self.encode(items, need_weights)
        rows = torch.arange(items.shape[0], device=items.device)
        last = hidden[rows, lengths - 1]
        attention = weights[rows, lengths - 1] if weights is not None else None
        return last, attention

    def full_sort_predict(self, items: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Scores of every item (batch, n_items + 1) for the next step after each history."""
        last, _ = self.last_hidden(items, lengths)
        return self.item_logits(last)

    def state(self) -> dict:
        """Config and weights as CPU tensors (whatever device trained it), for torch.save."""
        return {"config": asdict(self.config), "weights": cpu_state(self)}

    @classmethod
    def from_state(cls, state: dict) -> "SASRec":
        """The model on the CPU, in eval mode (move it with `.to(device)`)."""
        model = cls(SASRecConfig(**state["config"]))
        model.load_state_dict(state["weights"])
        model.eval()
        return model
