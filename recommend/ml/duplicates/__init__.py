"""Product matching: are two listings (maybe from two shops) the same product?

Modules: ``features`` (pair features that carry across shops), ``scorer`` (the fast
logistic first stage), ``cross_encoder`` (MiniLM fine-tuned on labelled pairs, the strong
second option), ``calibration`` (thresholds), ``labels`` and ``cross_source`` (labelled
pairs for training and benchmarks), ``candidates`` (mining pairs in a catalog).

"Duplicate" means the same catalog product, differing at most in variant attributes
(colour, size, pack) or wording; another model number or capacity is another product.
"""

from .calibration import best_f1_threshold, precision_recall_f1, threshold_for_precision
from .candidates import mine_duplicate_candidates
from .features import (
    COLOURS,
    SIZE_WORDS,
    char_ngrams,
    core_tokens,
    jaccard,
    model_numbers,
    normalise_brand,
    pair_features,
    part_numbers,
    quantities,
    record_text,
    tokens,
)
from .labels import LabelledPair, build_labelled_pairs_from_flipkart, flipkart_product, reword, split_by_group
from .scorer import (
    DEFAULT_FEATURES,
    DEFAULT_MODEL,
    FIRST_MODEL,
    DuplicateScorer,
    text_cosines,
    title_cosines,
)

__all__ = [
    "COLOURS",
    "DEFAULT_FEATURES",
    "DEFAULT_MODEL",
    "FIRST_MODEL",
    "SIZE_WORDS",
    "DuplicateScorer",
    "LabelledPair",
    "best_f1_threshold",
    "build_labelled_pairs_from_flipkart",
    "char_ngrams",
    "core_tokens",
    "flipkart_product",
    "jaccard",
    "mine_duplicate_candidates",
    "model_numbers",
    "normalise_brand",
    "pair_features",
    "part_numbers",
    "precision_recall_f1",
    "quantities",
    "record_text",
    "reword",
    "split_by_group",
    "text_cosines",
    "threshold_for_precision",
    "title_cosines",
    "tokens",
]
