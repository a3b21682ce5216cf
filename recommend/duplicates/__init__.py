"""Duplicate listings (Django side): candidate pairs mined at each similar-items build, staff merge/dismiss.

The scorer and candidate mining are pure code in `recommend.ml.duplicates`.
"""
