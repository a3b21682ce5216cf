"""Brand resolution shared by the importers and the API: one brand per name ignoring case (Unicode
case folding, so "ωMEGA" is "Ωmega"), each with a unique slug even when names differ only by punctuation
("Acme!" next to "Acme") or slugify to nothing (non-Latin punctuation)."""

from collections.abc import Iterable

from django.utils.text import slugify

from catalog.models import Brand


def brand_known_ids() -> dict[str, int]:
    """Every brand's id by its case-folded name (what `brands_ensure` matches on)."""
    return {name.casefold(): pk for pk, name in Brand.objects.values_list("pk", "name")}


def _unique_slug(name: str, taken: set[str]) -> str:
    base = slugify(name, allow_unicode=True)[:240] or "brand"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def brands_ensure(names: Iterable[str], known: dict[str, int]) -> dict[str, int]:
    """Create the brands among `names` that `known` (case-folded name -> id) lacks; `known` is updated.

    Two writers creating the same name or slug at once: the insert ignores the conflict and the
    next round picks up what the other wrote (a name) or takes the next free slug.
    """
    wanted = {name.strip() for name in names if name and name.strip()}
    for _ in range(3):
        missing: dict[str, str] = {}
        for name in sorted(wanted):
            if name.casefold() not in known:
                missing.setdefault(name.casefold(), name)
        if not missing:
            break
        taken = set(Brand.objects.values_list("slug", flat=True))
        Brand.objects.bulk_create(
            [Brand(name=name, slug=_unique_slug(name, taken)) for name in missing.values()], ignore_conflicts=True
        )
        known.update(brand_known_ids())
    return known
