"""Signals the taxonomy sends; other apps (recommend) connect to them, the taxonomy never imports them."""

from django.dispatch import Signal

# Sent after the category tree changed. kwargs: reason ("import", "create", "move", "rename",
# "delete"), category_ids (list of touched ids, or None for "many").
taxonomy_changed = Signal()
