"""Product vectors, embedded once for every capability, and the one home of the text-encoder call.

    ids, vectors = product_vectors(product_ids=[...])           # default text encoder
    ids, vectors = product_vectors(product_ids=[...], encoder="text:my-multilingual-model")

Vectors are stored in the `ProductVector` table keyed by (encoder name, hash of the text the encoder
reads), so a product is embedded again only when its text changes, products with the same text
share one row, and a second encoder (multilingual, image, ...) keeps its own rows beside the first.
Why a table and not a numpy file per encoder: every web and worker machine shares the database,
rows are added concurrently without a read-modify-write of a big file, and a lookup by hash is
an index read. Every capability embeds through `encode_texts` here (tests replace this one
function with a cheap fake); the encoder module imports torch, so it is imported on first use.
"""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings

from recommend.core.documents import ProductDocument, product_documents
from recommend.core.models import ProductVector
from recommend.core.progress import ProgressCallback
from recommend.ml.common.progress import CountProgress

LOOKUP_CHUNK = 2000  # hashes per IN (...) query, well under SQLite's parameter limit
INSERT_BATCH = 1000


SMALL_BATCH = 4


def encode_texts(texts: Sequence[str], progress: CountProgress | None = None) -> np.ndarray:
    """One L2-normalised float32 row per text, from the configured local sentence encoder.

    A handful of texts (a search query) go through the fp32 model: bfloat16 autocast casts the
    weights on every forward, which a batch of 64 amortises but one query pays in full (measured
    1.45 s vs 50 ms for one query on the 2-core demo machine); the vectors agree to cosine > 0.9999.
    """
    from recommend.ml.text_encoder import get_text_encoder

    precision = "fp32" if len(texts) <= SMALL_BATCH else settings.TEXT_ENCODER_PRECISION
    encoder = get_text_encoder(settings.TEXT_ENCODER_PATH or None, precision, settings.TORCH_DEVICE)
    return encoder.encode(list(texts), batch_size=64, progress=progress)


QUERY_CACHE_SIZE = 4096
_query_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_query_lock = threading.Lock()


def encode_query(text: str) -> np.ndarray:
    """A search query's (1, d) embedding, from a per-process LRU keyed by the normalised query.

    Shoppers repeat queries ("iphone case", "Iphone  case"): the encoder forward pass is most of a
    search request's time, and a hit costs a dictionary lookup. Keyed by the encoder setting too,
    so changing TEXT_ENCODER_PATH never serves a stale vector.
    """
    key = (settings.TEXT_ENCODER_PATH or "", " ".join(text.casefold().split()))
    with _query_lock:
        cached = _query_cache.get(key)
        if cached is not None:
            _query_cache.move_to_end(key)
            return cached
    vector = encode_texts([key[1]])
    vector.setflags(write=False)
    with _query_lock:
        _query_cache[key] = vector
        while len(_query_cache) > QUERY_CACHE_SIZE:
            _query_cache.popitem(last=False)
    return vector


def query_cache_clear() -> None:
    with _query_lock:
        _query_cache.clear()


def _document_text(document: ProductDocument) -> str:
    return document.text


def _encode_with_text_encoder(texts: Sequence[str], progress: CountProgress | None) -> np.ndarray:
    return encode_texts(texts, progress=progress)  # looked up at call time, so a test's fake applies


@dataclass(frozen=True)
class Encoder:
    """A named way to turn a product into a vector: which text of it to read, and the encode call."""

    name: str
    encode: Callable[[Sequence[str], CountProgress | None], np.ndarray]
    text_of: Callable[[ProductDocument], str] = field(default=_document_text)


ENCODERS: dict[str, Encoder] = {}


def register_encoder(encoder: Encoder) -> Encoder:
    """Make another encoder available by name (e.g. a multilingual model beside the default)."""
    ENCODERS[encoder.name] = encoder
    return encoder


def default_encoder_name() -> str:
    """`text:<model folder>`: TEXT_ENCODER_PATH's folder name, or the bundled MiniLM."""
    path = settings.TEXT_ENCODER_PATH
    return f"text:{Path(path).name if path else 'all-MiniLM-L6-v2'}"


def encoder_named(name: str | None) -> Encoder:
    name = name or default_encoder_name()
    if name not in ENCODERS and name == default_encoder_name():
        register_encoder(Encoder(name=name, encode=_encode_with_text_encoder))
    try:
        return ENCODERS[name]
    except KeyError:
        raise KeyError(f"No product encoder named {name!r}; known: {', '.join(sorted(ENCODERS))}.") from None


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def stored_vectors(*, encoder: str, hashes: Iterable[bytes]) -> dict[bytes, np.ndarray]:
    """{text hash: vector} of the hashes this encoder has embedded already."""
    unique = list(dict.fromkeys(hashes))
    found: dict[bytes, np.ndarray] = {}
    for start in range(0, len(unique), LOOKUP_CHUNK):
        rows = ProductVector.objects.filter(encoder=encoder, text_hash__in=unique[start : start + LOOKUP_CHUNK])
        for digest, vector in rows.values_list("text_hash", "vector"):
            found[bytes(digest)] = np.frombuffer(bytes(vector), dtype="<f4")
    return found


def _store(encoder: str, vectors: dict[bytes, np.ndarray]) -> None:
    rows = [
        ProductVector(encoder=encoder, text_hash=digest, dimension=len(vector), vector=vector.astype("<f4").tobytes())
        for digest, vector in vectors.items()
    ]
    # Another process may have embedded the same text meanwhile: its row is as good as ours.
    ProductVector.objects.bulk_create(rows, batch_size=INSERT_BATCH, ignore_conflicts=True)


def product_vectors(
    *,
    product_ids: Iterable[int] | None = None,
    encoder: str | None = None,
    documents: Sequence[ProductDocument] | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(product ids, float32 vectors, one row each) embedding only texts the store does not have yet.

    `product_ids=None` means every active product; pass `documents` when you have them already.
    Products that are inactive or merged away are left out (their id is not in the result).
    """
    chosen = encoder_named(encoder)
    if documents is None:
        documents = product_documents(product_ids=product_ids)
    texts = [chosen.text_of(document) for document in documents]
    hashes = [text_hash(text) for text in texts]
    found = stored_vectors(encoder=chosen.name, hashes=hashes)
    missing = {digest: text for digest, text in zip(hashes, texts, strict=True) if digest not in found}
    if missing:
        report: CountProgress | None = None
        if progress is not None:
            report = lambda done, total: progress(done / total, f"embedding {done} of {total} products")  # noqa: E731
        fresh = chosen.encode(list(missing.values()), report)
        computed = dict(zip(missing, np.asarray(fresh, dtype=np.float32), strict=True))
        _store(chosen.name, computed)
        found.update(computed)
    ids = np.array([document.product_id for document in documents], dtype=np.int64)
    if not documents:
        return ids, np.zeros((0, 0), dtype=np.float32)
    return ids, np.stack([found[digest] for digest in hashes]).astype(np.float32)


def product_vectors_prune(*, keep_hashes: Iterable[bytes], encoder: str | None = None) -> int:
    """Delete this encoder's vectors of texts no product has any more; returns how many went."""
    name = encoder_named(encoder).name
    keep = set(keep_hashes)
    stale = [
        pk
        for pk, digest in ProductVector.objects.filter(encoder=name).values_list("pk", "text_hash")
        if bytes(digest) not in keep
    ]
    for start in range(0, len(stale), LOOKUP_CHUNK):
        ProductVector.objects.filter(pk__in=stale[start : start + LOOKUP_CHUNK]).delete()
    return len(stale)


def text_vectors(texts: Sequence[str]) -> np.ndarray:
    """Vectors of plain texts (titles, head words, attribute names), not of product documents.

    Stored under their own encoder name (`<default>+texts`), so `product_vectors_prune`, which keeps only
    the texts of today's product documents, leaves them alone and a rebuild embeds only new texts.
    """
    if not texts:
        return encode_texts([])
    name = f"{default_encoder_name()}+texts"
    if name not in ENCODERS:
        register_encoder(Encoder(name=name, encode=_encode_with_text_encoder))
    documents = [
        ProductDocument(product_id=row, title=text, brand="", category_id=None, category_path=(), text=text)
        for row, text in enumerate(texts)
    ]
    return product_vectors(documents=documents, encoder=name)[1]
