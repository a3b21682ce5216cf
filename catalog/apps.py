from typing import Any

from django.apps import AppConfig


def _link_visitor_at_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """A shopper who signs in brings this browser's visitor id to the account (events, export, erase, opt-out)."""
    from catalog.services import visitor_link
    from catalog.visitors import current_visitor_id

    if request is not None:
        visitor_link(visitor_id=current_visitor_id(request), user=user)


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(_link_visitor_at_login, dispatch_uid="catalog.link_visitor_at_login")
