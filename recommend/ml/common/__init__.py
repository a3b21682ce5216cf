"""Shared pieces of the pure ML code: metrics, splits, the model protocol and a registry by name."""
