"""Pair features for product matching that carry across shops (pure Python, no Django).

Two shops describe one product differently: word order, marketing words, the brand
dropped or abbreviated, the model number re-formatted ("DAVHDX275" vs "DAV-HDX275"),
units changed ("1TB" vs "1000 GB"). The features here are built to be invariant to
those and sensitive to what really tells products apart: a different model number, a
different capacity or size, a different brand. Every feature is in 0..1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

Product = Mapping[str, Any]

COLOURS = frozenset(
    {
        *("black", "white", "red", "blue", "green", "yellow", "pink", "purple", "orange", "brown", "grey", "gray"),
        *("silver", "gold", "beige", "navy", "maroon", "multicolor", "multicolour", "cream", "olive", "teal"),
        *("peach", "khaki", "tan", "violet", "magenta", "turquoise"),
    }
)
SIZE_WORDS = frozenset(
    {
        *("xs", "s", "m", "l", "xl", "xxl", "xxxl", "small", "medium", "large", "free", "size"),
        *("inch", "cm", "mm", "ml", "kg", "g", "gb", "tb", "pack", "of", "set"),
    }
)
# Legal-form and filler words that shops add to or drop from a brand name.
BRAND_SUFFIXES = frozenset(
    {"inc", "ltd", "llc", "corp", "corporation", "co", "company", "gmbh", "ag", "plc", "limited", "the"}
)
_TOKEN = re.compile(r"[a-z0-9]+")
_NUMBER = re.compile(r"^\d+[a-z]*$")
# A run of letters/digits possibly broken by - / . or a single space inside a code ("DAV-HDX275", "SM G950F").
_CODE_CANDIDATE = re.compile(r"[a-z0-9]+(?:[-/.][a-z0-9]+)*")
_ALNUM = re.compile(r"[^a-z0-9]+")

# Unit -> (dimension, factor to the dimension's base unit). Capacity in GB, length in cm, etc.
_UNITS: dict[str, tuple[str, float]] = {
    **{u: ("storage", f) for u, f in (("tb", 1000.0), ("gb", 1.0), ("mb", 0.001))},
    **{u: ("length", f) for u, f in (("mm", 0.1), ("cm", 1.0), ("inch", 2.54))},
    **{u: ("length", 2.54) for u in ('"', "inches", "zoll")},
    **{u: ("volume", f) for u, f in (("ml", 1.0), ("l", 1000.0), ("litre", 1000.0), ("liter", 1000.0))},
    **{u: ("weight", f) for u, f in (("g", 1.0), ("kg", 1000.0), ("lb", 453.6), ("oz", 28.35))},
    **{u: ("power", f) for u, f in (("w", 1.0), ("kw", 1000.0), ("watt", 1.0))},
    **{u: (u, 1.0) for u in ("mah", "mp", "hz", "v")},
    "ghz": ("frequency", 1000.0),
    "mhz": ("frequency", 1.0),
}
_QUANTITY = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(tb|gb|mb|mm|cm|inches|inch|zoll|ml|litre|liter|l|kg|g|lb|oz|kw|watt|w|mah|mp|ghz|mhz|hz|v|\")"
    r"(?![a-z0-9])"
)


def tokens(text: str | None) -> list[str]:
    # Naive plural folding ("shoes" == "shoe") so singular/plural wording is no mismatch.
    return [
        t[:-1] if len(t) > 3 and t.endswith("s") and not t.endswith("ss") else t
        for t in _TOKEN.findall((text or "").lower())
    ]


def core_tokens(text: str | None) -> set[str]:
    """Tokens minus colour, size and number-with-unit words (what variants differ in)."""
    return {t for t in tokens(text) if t not in COLOURS and t not in SIZE_WORDS and not _NUMBER.match(t)}


def model_numbers(text: str | None) -> set[str]:
    """Digit-bearing tokens that are not sizes ("531", "ce4"; not "500 ml", "18k" stays).

    Different model numbers are the strongest sign of different products in one line.
    """
    toks = tokens(text)
    out = set()
    for i, t in enumerate(toks):
        if not any(c.isdigit() for c in t) or t in SIZE_WORDS:
            continue
        unit = t.lstrip("0123456789")
        next_is_unit = i + 1 < len(toks) and toks[i + 1] in SIZE_WORDS
        if unit in SIZE_WORDS or next_is_unit:
            continue
        out.add(t)
    return out


def squash(text: str | None) -> str:
    """Lower-case letters and digits only: "DAV-HDX275 Home" -> "davhdx275home"."""
    return _ALNUM.sub("", (text or "").lower())


@lru_cache(maxsize=65536)
def part_numbers(text: str | None) -> frozenset[str]:
    """Normalised model / part numbers: codes mixing letters and digits, separators removed.

    "Sony DAV-HDX275" -> {"davhdx275"}; "apple mq8n2b/a" -> {"mq8n2ba"}; "SM G950F" ->
    {"smg950f", "g950f"}. Quantities with a unit ("64gb", "5.5 inch") are attributes, not
    codes (see :func:`quantities`); bare numbers count only with 4+ digits ("5500").
    """
    low = (text or "").lower()
    low = _QUANTITY.sub(" ", low)
    found: set[str] = set()
    pieces = _CODE_CANDIDATE.findall(low)
    for i, piece in enumerate(pieces):
        code = _ALNUM.sub("", piece)
        if _is_code(code):
            found.add(code)
            # "sm g950f": a short letter prefix split off by a space belongs to the code.
            if i > 0 and pieces[i - 1].isalpha() and len(pieces[i - 1]) <= 3:
                found.add(pieces[i - 1] + code)
    return frozenset(found)


def _is_code(code: str) -> bool:
    has_digit = any(c.isdigit() for c in code)
    has_alpha = any(c.isalpha() for c in code)
    if has_digit and has_alpha:
        return len(code) >= 4 and sum(c.isdigit() for c in code) >= 2
    return has_digit and len(code) >= 4


@lru_cache(maxsize=65536)
def quantities(text: str | None) -> dict[str, frozenset[float]]:
    """Numeric attributes by dimension, in base units: "1TB" and "1000 GB" both give storage 1000."""
    out: dict[str, set[float]] = {}
    for value, unit in _QUANTITY.findall((text or "").lower()):
        dimension, factor = _UNITS[unit]
        number = float(value.replace(",", "."))
        # Rounded to 2 significant figures so 2.54 cm/inch conversions and 1 TB = 1024 GB agree.
        base = number * factor
        out.setdefault(dimension, set()).add(float(f"{base:.2g}") if base else 0.0)
    return {k: frozenset(v) for k, v in out.items()}


def normalise_brand(brand: str | None) -> str:
    """ "Sony Corp." == "SONY" == "sony, inc"; "Hewlett-Packard" -> "hewlettpackard"."""
    words = [w for w in _TOKEN.findall((brand or "").lower()) if w not in BRAND_SUFFIXES]
    return "".join(words)


def char_ngrams(text: str | None, n: int = 3) -> set[str]:
    s = " ".join(tokens(text))
    s = f" {s} "
    return {s[i : i + n] for i in range(max(len(s) - n + 1, 1))}


def jaccard(a: set | frozenset, b: set | frozenset) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def category_parts(cat: Any) -> list[str]:
    if not cat:
        return []
    if isinstance(cat, str):
        return [p.strip().lower() for p in re.split(r">>|>", cat) if p.strip()]
    return [str(p).strip().lower() for p in cat]


def to_price(p: Any) -> float | None:
    try:
        v = float(p)
    except (TypeError, ValueError):
        return None
    return v if v > 0 and math.isfinite(v) else None


def ngram_cosine(a: str, b: str) -> float:
    ga, gb = char_ngrams(a), char_ngrams(b)
    return len(ga & gb) / math.sqrt(len(ga) * len(gb)) if ga and gb else 0.0


def record_text(product: Product, description_chars: int = 200) -> str:
    """The whole record as one text for the sentence encoder: brand, title, category, description start."""
    parts = [str(product.get("brand") or ""), str(product.get("title") or "")]
    category = category_parts(product.get("category"))
    if category:
        parts.append(category[-1])
    description = str(product.get("description") or "")
    if description:
        parts.append(description[:description_chars])
    return " | ".join(p for p in parts if p)


def _brand_features(a: Product, b: Product) -> dict[str, float]:
    brand_a, brand_b = normalise_brand(a.get("brand")), normalise_brand(b.get("brand"))
    if brand_a and brand_b:
        # "hp" vs "hewlettpackard" stay different; "samsung" vs "samsungelectronics" agree.
        contained = brand_a in brand_b or brand_b in brand_a
        agree = brand_a == brand_b or (min(len(brand_a), len(brand_b)) >= 3 and contained)
        return {"brand_match": float(agree), "brand_conflict": float(not agree), "brand_missing": 0.0}
    # One side lacks the field: the other's brand written in its title is the same evidence.
    known, other = (brand_a, b) if brand_a else (brand_b, a)
    in_title = bool(known) and known in squash(other.get("title"))
    return {"brand_match": float(in_title), "brand_conflict": 0.0, "brand_missing": 1.0}


def _part_number_features(text_a: str, text_b: str) -> dict[str, float]:
    codes_a, codes_b = part_numbers(text_a), part_numbers(text_b)
    if not codes_a or not codes_b:
        # A code of one side written inside the other's run-together text still counts.
        flat_a, flat_b = squash(text_a), squash(text_b)
        one_sided = any(c in flat_b for c in codes_a) or any(c in flat_a for c in codes_b)
        return {"part_number_match": float(one_sided), "part_number_conflict": 0.0, "part_number_missing": 1.0}
    flat_a, flat_b = squash(text_a), squash(text_b)
    match = bool(codes_a & codes_b) or any(c in flat_b for c in codes_a) or any(c in flat_a for c in codes_b)
    return {"part_number_match": float(match), "part_number_conflict": float(not match), "part_number_missing": 0.0}


def _quantity_features(text_a: str, text_b: str) -> dict[str, float]:
    qa, qb = quantities(text_a), quantities(text_b)
    shared = set(qa) & set(qb)
    if not shared:
        return {"numeric_agreement": 0.0, "numeric_conflict": 0.0, "numeric_missing": 1.0}
    agree = sum(1 for d in shared if qa[d] & qb[d])
    return {
        "numeric_agreement": agree / len(shared),
        "numeric_conflict": float(agree < len(shared)),
        "numeric_missing": 0.0,
    }


def pair_features(a: Product, b: Product, title_cosine: float | None = None) -> dict[str, float]:
    """All pair features; ``title_cosine`` should be the embedding cosine of the records
    (without it a char-trigram cosine stands in, which fitted weights do not expect)."""
    ta, tb = str(a.get("title") or ""), str(b.get("title") or "")
    sa, sb = set(tokens(ta)), set(tokens(tb))
    pa, pb = to_price(a.get("price")), to_price(b.get("price"))
    ca, cb = category_parts(a.get("category")), category_parts(b.get("category"))
    common = 0
    for x, y in zip(ca, cb, strict=False):
        if x != y:
            break
        common += 1
    da, db = str(a.get("description") or ""), str(b.get("description") or "")
    na, nb = model_numbers(ta), model_numbers(tb)
    cosine = float(title_cosine) if title_cosine is not None else ngram_cosine(ta, tb)
    return {
        # The embedding cosine of the two records; "title_cosine" is its older name (saved models use it).
        "text_cosine": cosine,
        "title_cosine": cosine,
        "title_token_jaccard": jaccard(sa, sb),
        "title_containment": len(sa & sb) / min(len(sa), len(sb)) if sa and sb else 0.0,
        "title_core_jaccard": jaccard(core_tokens(ta), core_tokens(tb)),
        "title_char3_jaccard": jaccard(char_ngrams(ta), char_ngrams(tb)),
        **_brand_features(a, b),
        "price_ratio": min(pa, pb) / max(pa, pb) if pa and pb else 0.0,
        "price_missing": float(not (pa and pb)),
        "category_overlap": common / max(len(ca), len(cb)) if ca and cb else 0.0,
        # Conflict only if neither set contains the other: "Pegasus 38" vs "Pegasus 38 (Black, 42)" is fine.
        "model_number_conflict": float(bool(na) and bool(nb) and not (na <= nb or nb <= na)),
        **_part_number_features(ta, tb),
        **_quantity_features(ta, tb),
        "description_char3_jaccard": jaccard(char_ngrams(da), char_ngrams(db)) if da and db else 0.0,
        "description_missing": float(not (da and db)),
    }
