"""Settings of the learned capabilities (import, classification, taxonomy proposals, similar items, search,
bought together, recommendations, privacy), split from config/settings.py, which star-imports them."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool
from recommend.ml.common.device_names import CHOICES as DEVICE_CHOICES
from recommend.ml.common.device_names import is_valid_preference

BASE_DIR = Path(__file__).resolve().parent.parent

# Data and models.
SHOP_DATA_DIR = Path(os.environ.get("SHOP_DATA_DIR", BASE_DIR.parent / "shared" / "data" / "raw"))
TEXT_ENCODER_PATH = os.environ.get("TEXT_ENCODER_PATH", "")
TEXT_ENCODER_PRECISION = os.environ.get("TEXT_ENCODER_PRECISION", "auto")  # auto, fp32 or bf16
# Where torch trains and runs batch inference (recommend/ml/common/device.py): "auto" is a CUDA GPU when torch sees
# one, else the CPU; "cpu" forces the CPU; "cuda", "cuda:N" (or "mps") insist on one and fail clearly without it.
# Artifacts always hold CPU tensors, so GPU-trained models load in CPU-only web processes and back.
TORCH_DEVICE = os.environ.get("TORCH_DEVICE", "auto").strip().lower() or "auto"
if not is_valid_preference(TORCH_DEVICE):  # checked here without importing torch
    raise ImproperlyConfigured(f"TORCH_DEVICE={TORCH_DEVICE!r}: use {DEVICE_CHOICES}.")
IMPORT_BATCH_SIZE = int(os.environ.get("IMPORT_BATCH_SIZE", 2000))
INTERACTION_BATCH_MAX = 1000
JOB_PROGRESS_INTERVAL = float(os.environ.get("JOB_PROGRESS_INTERVAL", 0.5))  # seconds between progress writes
# Tree changes and bulk decisions queue ONE rebuild/retrain that runs after this many seconds without further edits.
REBUILD_QUIET_SECONDS = int(os.environ.get("REBUILD_QUIET_SECONDS", 120))
# Up to this many products changed at once are updated in place (vectors, neighbours); more queue a rebuild.
INCREMENTAL_UPDATE_MAX_PRODUCTS = int(os.environ.get("INCREMENTAL_UPDATE_MAX_PRODUCTS", 20))
# Classification: above the threshold the classifier sets the category, below it the product waits for review.
CLASSIFIER_CONFIDENCE_THRESHOLD = float(os.environ.get("CLASSIFIER_CONFIDENCE_THRESHOLD", 0.6))
CLASSIFIER_MAX_DEPTH = int(os.environ.get("CLASSIFIER_MAX_DEPTH", 3))  # label = the first N levels of the path
CLASSIFIER_TOP_K = int(os.environ.get("CLASSIFIER_TOP_K", 3))  # suggestions stored per product
# The review queue hides suggestions below this confidence (no Accept button for a 3 % guess).
REVIEW_SUGGESTION_FLOOR = float(os.environ.get("REVIEW_SUGGESTION_FLOOR", 0.10))
# Taxonomy proposals (issue 10): the periodic fit check proposes a rebuild when many recent products fit badly.
TAXONOMY_FIT_DAYS = float(os.environ.get("TAXONOMY_FIT_DAYS", 7))  # "recent": added within this many days
TAXONOMY_FIT_MIN_SIMILARITY = float(os.environ.get("TAXONOMY_FIT_MIN_SIMILARITY", 0.5))  # best cosine below: misfit
TAXONOMY_FIT_MIN_SHARE = float(os.environ.get("TAXONOMY_FIT_MIN_SHARE", 0.2))  # share of misfits that proposes
TAXONOMY_FIT_MIN_PRODUCTS = int(os.environ.get("TAXONOMY_FIT_MIN_PRODUCTS", 10))  # and at least this many
TAXONOMY_FIT_CHECK_HOURS = float(os.environ.get("TAXONOMY_FIT_CHECK_HOURS", 24))  # celery beat interval; 0: off

# Similar items (issue 4). Weights and behaviour parameters come from benchmarks/similarity.py.
SIMILAR_TOP_K = int(os.environ.get("SIMILAR_TOP_K", 10))
SIMILAR_HYBRID_WEIGHTS = {
    "content": float(os.environ.get("SIMILAR_CONTENT_WEIGHT", 0.3)),
    "behavior": float(os.environ.get("SIMILAR_BEHAVIOR_WEIGHT", 0.7)),
}
SIMILAR_HYBRID_NORMALIZATION = "rank"  # scores of the two lists are fused by reciprocal rank
SIMILAR_BEHAVIOR_PARAMS = {"window": 10, "alpha": 0.9, "backward_weight": 0.5}
# A behaviour neighbour seen by fewer visitors than this never outranks a content one in the hybrid list.
SIMILAR_BEHAVIOR_MIN_VISITORS = int(os.environ.get("SIMILAR_BEHAVIOR_MIN_VISITORS", 2))
SIMILAR_EXACT_MAX_SIZE = int(os.environ.get("SIMILAR_EXACT_MAX_SIZE", 50_000))  # larger catalogs use HNSW
SIMILAR_CACHE_SECONDS = int(os.environ.get("SIMILAR_CACHE_SECONDS", 600))
DUPLICATE_SCORER_PATH = os.environ.get("DUPLICATE_SCORER_PATH", "")  # JSON written by benchmarks/similarity.py
DUPLICATE_NEIGHBOURS = int(os.environ.get("DUPLICATE_NEIGHBOURS", 5))
# A shopper's visitor id lives in a cookie of its own (never the session key; catalog/visitors.py). Events past
# VISITOR_EVENTS_PER_MINUTE from one client address in a minute are not recorded (0 records all).
VISITOR_COOKIE_NAME = os.environ.get("VISITOR_COOKIE_NAME", "visitor")
VISITOR_COOKIE_AGE = int(os.environ.get("VISITOR_COOKIE_AGE", 365 * 24 * 3600))
VISITOR_EVENTS_PER_MINUTE = int(os.environ.get("VISITOR_EVENTS_PER_MINUTE", 120))
# Storefront shopper events (catalog/events.py): buffered per process and written every flush_seconds,
# or as soon as `batch` events wait; "inline" writes each at once (tests).
SHOPPER_EVENTS = {
    "inline": env_bool("SHOPPER_EVENTS_INLINE", False),
    "flush_seconds": float(os.environ.get("SHOPPER_EVENTS_FLUSH_SECONDS", 2.0)),
    "batch": int(os.environ.get("SHOPPER_EVENTS_BATCH", 200)),
}
SEARCH_CANDIDATES = int(os.environ.get("SEARCH_CANDIDATES", 100))
# Semantic hits below this cosine are not matches, so a meaningless query gets an empty result.
SEARCH_MIN_SIMILARITY = float(os.environ.get("SEARCH_MIN_SIMILARITY", 0.3))
# Frequently bought together (issue 11); defaults from benchmarks/bought_together.py (Groceries). The build
# re-chooses the blend weights on its latest 20 % of orders when there are enough of them.
BOUGHT_TOGETHER = {
    "min_count": int(os.environ.get("BOUGHT_TOGETHER_MIN_COUNT", 2)),  # orders a pair needs to be a rule
    "min_support": float(os.environ.get("BOUGHT_TOGETHER_MIN_SUPPORT", 0.0)),
    "min_lift": float(os.environ.get("BOUGHT_TOGETHER_MIN_LIFT", 1.0)),
    "evidence_min_count": int(os.environ.get("BOUGHT_TOGETHER_EVIDENCE_MIN_COUNT", 3)),  # "bought together in x %"
    "max_rules_per_product": int(os.environ.get("BOUGHT_TOGETHER_MAX_RULES_PER_PRODUCT", 50)),
    "half_life_days": float(os.environ.get("BOUGHT_TOGETHER_HALF_LIFE_DAYS", 60)) or None,  # 0: no recency decay
    "dim": 32,
    "epochs": int(os.environ.get("BOUGHT_TOGETHER_EPOCHS", 8)),
    "lr": 0.003,
    "weights": {"rules": 0.2, "graph": 0.6, "popularity": 0.2, "prior_strength": 50.0},
}
# Personalised recommendations (issue 9): SASRec over each shopper's latest events.
RECOMMEND_EXCLUDE_PURCHASED = env_bool("RECOMMEND_EXCLUDE_PURCHASED", True)  # never recommend what they bought
RECOMMEND_EXCLUDE_SEEN = env_bool("RECOMMEND_EXCLUDE_SEEN", True)  # nor what is in the history the model read
RECOMMEND_HISTORY_LENGTH = int(os.environ.get("RECOMMEND_HISTORY_LENGTH", 50))  # events read per request
RECOMMEND_EXPLAIN_METHOD = os.environ.get("RECOMMEND_EXPLAIN_METHOD", "attention_similarity")
# Issue 23: the visitor's current intent leads (recommend/sequential/intent.py). Scores are in standard deviations of
# the model's item scores: a product of a department the visitor never touched pays `untouched_margin`.
RECOMMEND_INTENT = {
    "window": int(os.environ.get("RECOMMEND_INTENT_WINDOW", 20)),  # recent events that count
    "half_life": float(os.environ.get("RECOMMEND_INTENT_HALF_LIFE", 2.0)),  # in events
    "untouched_margin": float(os.environ.get("RECOMMEND_INTENT_UNTOUCHED_MARGIN", 3.0)),
    "category_weight": 0.5,
    "content_scale": 5.0,  # a content neighbour's relevance per unit of cosine (products without behaviour)
    "popular_score": 1.0,
}
# A reason names a history item only if removing it drops the item's score by this much, or its rank by this many
# places (occlusion at serving time over the newest RECOMMEND_OCCLUSION_ITEMS distinct history products).
RECOMMEND_REASON_MIN_DROP = float(os.environ.get("RECOMMEND_REASON_MIN_DROP", 0.5))
RECOMMEND_REASON_MIN_RANK_DROP = int(os.environ.get("RECOMMEND_REASON_MIN_RANK_DROP", 3))
RECOMMEND_OCCLUSION_ITEMS = int(os.environ.get("RECOMMEND_OCCLUSION_ITEMS", 8))
RECOMMEND_NEAR_DUPLICATE_SCORE = float(os.environ.get("RECOMMEND_NEAR_DUPLICATE_SCORE", 0.9))  # hidden with a dislike
RECOMMEND_TRENDING_TOP = 20  # "Popular in <category> this week": the top N of a category over 7 days
# Privacy: events not linked to an account are deleted this many days after they were stored (celery beat,
# daily); 0 keeps them (the demo's imported histories have no accounts and must stay).
ANONYMOUS_EVENT_RETENTION_DAYS = int(os.environ.get("ANONYMOUS_EVENT_RETENTION_DAYS", 0))
RECOMMEND_RETRAIN_HOURS = float(os.environ.get("RECOMMEND_RETRAIN_HOURS", 24))  # celery beat retrain; 0: off
# The benchmark's configuration (benchmarks/recommendation.py); the demo uses a short version of it.
RECOMMEND_TRAINING = {
    "batch_size": 256,
    "negatives": int(os.environ.get("RECOMMEND_NEGATIVES", 2048)),
    "time_limit_seconds": float(os.environ.get("RECOMMEND_TRAIN_SECONDS", 1500)),
    "evaluate_every": 2,
    "patience": 5,
    "validation_users": 5000,
}
