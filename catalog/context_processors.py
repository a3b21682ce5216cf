"""Template context shared by every storefront page: the top-level categories for the menu."""

from typing import Any

from django.core.cache import cache
from django.http import HttpRequest

from taxonomy.models import Category
from taxonomy.selectors import tree_cache_version


def storefront(request: HttpRequest) -> dict[str, Any]:
    if request.path.startswith("/admin/"):
        return {}
    key = f"storefront:menu:{tree_cache_version()}"
    roots = cache.get(key)
    if roots is None:
        roots = list(Category.objects.root_nodes().filter(is_active=True).values("pk", "name", "slug")[:12])
        cache.set(key, roots, 300)
    return {"menu_categories": roots}
