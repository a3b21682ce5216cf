"""Automatic construction of the category and attribute hierarchy (pure numpy/torch/sklearn)."""
