"""Product search (reads): lexical full-text match fused with semantic (embedding) similarity.

Lexical: SQLite FTS5 (table `recommend_product_fts`) or PostgreSQL's GIN-indexed stored tsvector
(`recommend_product_search`), both kept in step with the similar-items build and product saves.
Semantic: the query's sentence embedding (cached per normalised query) against the active
similar-items version's ANN index, so "iphone 12 case" also finds "back cover for Apple iPhone 12".
The two rankings are merged by reciprocal rank fusion.
"""

import re
from typing import Any

from django.conf import settings
from django.db import connection

from catalog.models import Product
from catalog.selectors import product_list, products_in_subtree
from recommend.ml.text_segment import segment_cjk
from recommend.search.services import fts_available, pg_index_available
from recommend.similarity.selectors import semantic_neighbours
from taxonomy.models import Category

RRF_K = 60
WORD = re.compile(r"\w+", re.UNICODE)


def lexical_ids(query: str, limit: int) -> list[int]:
    # The index holds CJK titles segmented into words, so the query is segmented the same way.
    words = [w for w in WORD.findall(segment_cjk(query).casefold()) if len(w) > 1 or w.isdigit()][:12]
    if not words:
        return []
    if fts_available():
        match = " OR ".join(f'"{w}"' for w in words)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rowid FROM recommend_product_fts WHERE recommend_product_fts MATCH %s"
                " ORDER BY bm25(recommend_product_fts, 4.0, 1.0, 1.0) LIMIT %s",
                [match, limit],
            )
            return [row[0] for row in cursor.fetchall()]
    if pg_index_available():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT product_id FROM recommend_product_search, to_tsquery('english', %s) query"
                " WHERE document @@ query ORDER BY ts_rank(document, query) DESC, product_id LIMIT %s",
                [" | ".join(words), limit],
            )
            return [row[0] for row in cursor.fetchall()]
    return []


def semantic_ids(query: str, limit: int) -> list[tuple[int, float]]:
    return semantic_neighbours(text=query, limit=limit)


def listing_keys(products: Any) -> dict[int, tuple[str, int | None]]:
    return {
        pk: (title.casefold().strip(), brand_id)
        for pk, title, brand_id in products.values_list("pk", "title", "brand_id")
    }


def product_search(
    *, query: str, limit: int = 24, category_id: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """Ranked products for a free-text query: [{"product": Product, "score": float, "matched_by": str}]."""
    return product_search_page(query=query, limit=limit, offset=offset, category_id=category_id)["hits"]


def product_search_page(
    *, query: str, limit: int = 24, offset: int = 0, category_id: int | None = None
) -> dict[str, Any]:
    """One page of hits with `total` (distinct listings that match) and `total_capped` (the total
    counts only the first SEARCH_CANDIDATES of each ranking, so there may be more), `match` ("all_words" when
    some listing holds every word of the query, "closest" when only near items were found, "none") and `exact`
    (how many hold every word; they come first).
    """
    ranking = search_ranking(query=query, category_id=category_id)
    hits = search_hits(ranking, ranking["ids"][offset : offset + limit])
    return {
        "total": len(ranking["ids"]),
        "total_capped": ranking["capped"],
        "hits": hits,
        "match": ranking["match"],
        "exact": ranking["exact"],
    }


def search_ranking(*, query: str, category_id: int | None = None) -> dict[str, Any]:
    """Every matching listing id, best first, with its fused score and what matched it.

    Semantic neighbours below SEARCH_MIN_SIMILARITY (cosine) are not matches: a query that means
    nothing ("xyzzyqwerty") gets an honest empty result instead of the 48 least-bad products.
    The storefront filters this list by facets before it pages it.
    """
    candidates = settings.SEARCH_CANDIDATES
    lexical = lexical_ids(query, candidates)
    nearest = semantic_ids(query, candidates)
    semantic = [(pk, score) for pk, score in nearest if score >= settings.SEARCH_MIN_SIMILARITY]
    capped = len(lexical) >= candidates or len(semantic) >= candidates
    live = Product.objects.filter(is_active=True, merged_into__isnull=True)
    if category_id is not None:
        category = Category.objects.filter(pk=category_id).first()
        live = products_in_subtree(live, category) if category else live.none()
    # pk -> (title, brand): a listing copied under the same title and brand is shown once, at its best rank.
    found = listing_keys(live.filter(pk__in={*lexical, *(pk for pk, _ in semantic)}))
    if not found:
        # No index built yet (fresh install) or only stale rows: plain word matching still finds what is there.
        lexical = list(product_list(text=query).values_list("pk", flat=True)[:candidates])
        semantic = []
        capped = len(lexical) >= candidates
        found = listing_keys(live.filter(pk__in=lexical))
    scores: dict[int, float] = {}
    sources: dict[int, set[str]] = {}
    for rank, pk in enumerate(lexical):
        scores[pk] = scores.get(pk, 0.0) + 1.0 / (RRF_K + rank)
        sources.setdefault(pk, set()).add("lexical")
    for rank, (pk, _) in enumerate(semantic):
        scores[pk] = scores.get(pk, 0.0) + 1.0 / (RRF_K + rank)
        sources.setdefault(pk, set()).add("semantic")
    complete = products_with_every_word(query, live.filter(pk__in=found))
    distinct, shown = [], set()
    # Listings that hold every word of the query come first ("red dress": the red dresses before "Red Rose"
    # nightwear); the rest are the closest items, and the page says no product matches when only they exist.
    for pk in sorted(found, key=lambda pk: (pk not in complete, -scores[pk], pk)):
        if found[pk] not in shown:
            shown.add(found[pk])
            distinct.append(pk)
    exact = sum(pk in complete for pk in distinct)
    match = "none" if not distinct else ("all_words" if exact else "closest")
    return {"ids": distinct, "scores": scores, "sources": sources, "capped": capped, "exact": exact, "match": match}


def _word_forms(word: str) -> set[str]:
    """A word and its plain singular ("covers" -> "cover", "dresses" -> "dress"), for matching query words."""
    forms = {word}
    if len(word) > 3 and word.endswith("es"):
        forms.add(word[:-2])
    if len(word) > 2 and word.endswith("s"):
        forms.add(word[:-1])
    return forms


def products_with_every_word(query: str, products: Any) -> set[int]:
    """Ids among `products` whose title, brand or category name holds every word of `query` (singular or
    plural alike): what a shopper means by a match. A query of no words matches nothing."""
    wanted = [_word_forms(w) for w in WORD.findall(segment_cjk(query).casefold()) if len(w) > 1 or w.isdigit()]
    if not wanted:
        return set()
    complete = set()
    for pk, title, brand, category in products.values_list("pk", "title", "brand__name", "category__name"):
        text = segment_cjk(" ".join(filter(None, (title, brand, category)))).casefold()
        have = set().union(*(_word_forms(w) for w in WORD.findall(text))) if text else set()
        if all(forms & have for forms in wanted):
            complete.add(pk)
    return complete


def search_hits(ranking: dict[str, Any], chosen: list[int]) -> list[dict[str, Any]]:
    """The hits for some ids of a ranking, in that order, products loaded in one query."""
    scores, sources = ranking["scores"], ranking["sources"]
    products = Product.objects.select_related("brand", "category").in_bulk(chosen)
    return [
        {
            "product": p,
            "score": round(scores[p.pk] * RRF_K, 4),
            "matched_by": "both" if len(sources[p.pk]) == 2 else next(iter(sources[p.pk])),
        }
        for p in (products[pk] for pk in chosen if pk in products)
    ]
