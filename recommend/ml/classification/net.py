"""The torch network behind the hierarchical product classifier.

Two expert networks, each with one linear head per taxonomy level:

* the deep expert: a sequence path, (word embedding + mean of the word's hashed
  char n-gram embeddings) -> bidirectional GRU -> additive attention pooling
  (the attention weights are returned so callers can show which words
  mattered), concatenated with a bag path, the mean of hashed char n-gram and
  word-bigram embeddings over the whole title (fastText style);
* the wide expert: a per-class linear model on the title's TF-IDF vector (exact
  feature table, no low-rank bottleneck), which gives rare classes their own
  distinctive features the way a linear SVM does; training solves it as one
  (see ``wide.fit_wide_svm``).

Embedding tables are sparse (``sparse=True``) so that each optimiser step only
touches the rows of the batch; with ~10^5 hash buckets a dense Adam update of
every row would dominate CPU training time.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class HierarchicalGRUNet(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        buckets: int,
        embedding_dim: int,
        hidden_dim: int,
        attention_dim: int,
        bag_dim: int,
        num_classes: list[int],
        dropout: float,
        wide_size: int = 0,
    ) -> None:
        super().__init__()
        self.word_emb = nn.Embedding(vocab_size, embedding_dim, padding_idx=0, sparse=True)
        self.subword_emb = nn.EmbeddingBag(buckets, embedding_dim, mode="mean", sparse=True)
        self.bag_emb = nn.EmbeddingBag(buckets, bag_dim, mode="mean", sparse=True)
        self.gru = nn.GRU(embedding_dim, hidden_dim, batch_first=True, bidirectional=True)
        self.att_proj = nn.Linear(2 * hidden_dim, attention_dim)
        self.att_score = nn.Linear(attention_dim, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        features = 2 * hidden_dim + bag_dim
        self.heads = nn.ModuleList(nn.Linear(features, n) for n in num_classes)
        # Wide path: one weight per (feature, class), i.e. a linear model on the
        # TF-IDF vector, a second expert whose log-probs are mixed with the deep ones.
        self.wide = (
            nn.ModuleList(nn.EmbeddingBag(wide_size, n, mode="sum", sparse=True) for n in num_classes)
            if wide_size
            else nn.ModuleList()
        )
        self.wide_bias = nn.ParameterList(nn.Parameter(torch.zeros(n)) for n in (num_classes if wide_size else []))
        self._init_weights()

    def _init_weights(self) -> None:
        # Small embeddings keep the initial GRU inputs in tanh's linear range.
        for emb in (self.word_emb, self.subword_emb, self.bag_emb):
            nn.init.normal_(emb.weight, std=0.05)
        for table in self.wide_tables():
            nn.init.zeros_(table.weight)  # start as the pure deep model
        with torch.no_grad():
            self.word_emb.weight[0].zero_()

    def wide_tables(self) -> list[nn.EmbeddingBag]:
        """The wide expert's per-level tables (typed: a ModuleList yields plain Modules)."""
        return [cast(nn.EmbeddingBag, table) for table in self.wide]

    def sparse_parameters(self) -> list[nn.Parameter]:
        return [cast(nn.Parameter, t.weight) for t in (self.word_emb, self.subword_emb, self.bag_emb)]

    def wide_parameters(self) -> list[nn.Parameter]:
        return [cast(nn.Parameter, t.weight) for t in self.wide_tables()]

    def dense_parameters(self) -> list[nn.Parameter]:
        sparse = {id(p) for p in self.sparse_parameters() + self.wide_parameters()}
        return [p for p in self.parameters() if id(p) not in sparse]

    def deep_dense_parameters(self) -> list[nn.Parameter]:
        wide = {id(p) for p in self.wide_bias}
        return [p for p in self.dense_parameters() if id(p) not in wide]

    def wide_scores(
        self, wide_ids: torch.Tensor, wide_weights: torch.Tensor, wide_offsets: torch.Tensor
    ) -> list[torch.Tensor]:
        """Per-level scores of the wide (linear, TF-IDF) expert."""
        return [
            table(wide_ids, wide_offsets, per_sample_weights=wide_weights) + bias
            for table, bias in zip(self.wide_tables(), self.wide_bias, strict=True)
        ]

    def forward(
        self,
        word_ids: torch.Tensor,
        lengths: torch.Tensor,
        token_ngrams: torch.Tensor,
        token_offsets: torch.Tensor,
        bag_ids: torch.Tensor,
        bag_offsets: torch.Tensor,
        wide_ids: torch.Tensor | None = None,
        wide_weights: torch.Tensor | None = None,
        wide_offsets: torch.Tensor | None = None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor] | None, torch.Tensor]:
        """Per-level deep logits, per-level wide logits (None without a wide path), (B, L) attention.

        The two paths are separate experts with their own losses: trained as one
        sum, the quickly-memorising deep path leaves the wide path no gradient.
        """
        batch, width = word_ids.shape
        subwords = self.subword_emb(token_ngrams, token_offsets).view(batch, width, -1)
        tokens = self.dropout(self.word_emb(word_ids) + subwords)
        # Packing keeps the backward GRU direction from starting on padding.
        packed = pack_padded_sequence(tokens, lengths, batch_first=True, enforce_sorted=False)
        states, _ = self.gru(packed)
        states, _ = pad_packed_sequence(states, batch_first=True, total_length=width)
        scores = self.att_score(torch.tanh(self.att_proj(states))).squeeze(-1)
        # `lengths` stays on the CPU (pack_padded_sequence wants it there); the mask lives with the states.
        valid = torch.arange(width, device=states.device).unsqueeze(0) < lengths.to(states.device).unsqueeze(1)
        attention = torch.softmax(scores.masked_fill(~valid, float("-inf")), dim=1)
        pooled = torch.bmm(attention.unsqueeze(1), states).squeeze(1)
        bag = self.bag_emb(bag_ids, bag_offsets)
        features = self.dropout(torch.cat([pooled, bag], dim=1))
        deep = [head(features) for head in self.heads]
        wide = None
        if len(self.wide) and wide_ids is not None and wide_weights is not None and wide_offsets is not None:
            wide = self.wide_scores(wide_ids, wide_weights, wide_offsets)
        return deep, wide, attention
