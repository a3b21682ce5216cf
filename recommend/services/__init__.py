"""Writes owned by recommend: jobs, the model registry, and (later) the learned capabilities."""
