"""Which brand values are not brands (no Django import).

Some feeds put a colour or a fit in the brand column (the Flipkart sample has "Regular" 313
times, "Slim" 288, "Black" 167, "Regular Fit" 66 ...). A value made only of colour, fit and
shade words is rejected; the importer then takes the brand from the title when the title
starts with a brand the same feed names elsewhere.
"""

import re
from collections.abc import Iterable

COLOUR_WORDS = {
    "beige", "black", "blue", "brown", "coffee", "cream", "gold", "golden", "green", "grey", "gray", "lavender",
    "magenta", "majenta", "maroon", "mauve", "mehroon", "multi", "multicolor", "multicolour", "navy", "orange",
    "peach", "pink", "purple", "rani", "red", "silver", "skin", "steel", "turquoise", "turquise", "violet", "white",
    "wine", "yellow",
}  # fmt: skip
FIT_WORDS = {
    "casual", "comfort", "fit", "loose", "na", "normal", "realx", "regular", "relaxed", "skinny", "slim", "smart",
    "standard", "straight", "tapered", "trim",
}  # fmt: skip
SHADE_WORDS = {"and", "baby", "bold", "bright", "carrot", "dark", "deep", "glossy", "light", "sky", "vibrant"}
NOT_BRAND_WORDS = COLOUR_WORDS | FIT_WORDS | SHADE_WORDS


def brand_is_suspect(name: str) -> bool:
    """True for a value made only of colour / fit / shade words ("Slim", "Regular Fit", "Light Pink")."""
    words = [word for word in re.split(r"[\s\-/&,]+", name.casefold()) if word]
    return bool(words) and all(word in NOT_BRAND_WORDS for word in words)


class KnownBrands:
    """Brands a feed names in its brand column, matched against the start of a title (longest first)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.by_first_word: dict[str, list[str]] = {}
        for name in {n.strip() for n in names if n.strip() and not brand_is_suspect(n)}:
            self.by_first_word.setdefault(name.split()[0].casefold(), []).append(name)
        for candidates in self.by_first_word.values():
            candidates.sort(key=len, reverse=True)

    def in_title(self, title: str) -> str:
        """The longest known brand the title starts with (whole words), or ""."""
        title = title.strip()
        first = title.split()[0].casefold() if title else ""
        for name in self.by_first_word.get(first, []):
            if title.casefold().startswith(name.casefold()) and title[len(name) : len(name) + 1] in ("", " "):
                return title[: len(name)]
        return ""
