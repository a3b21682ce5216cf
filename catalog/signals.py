"""Signals the catalog sends; recommend connects to them (the catalog never imports recommend)."""

from django.dispatch import Signal

# Sent after an import committed. kwargs: product_ids (ids created or updated).
products_imported = Signal()
# Sent after staff changed products in bulk (category moves). kwargs: product_ids.
products_changed = Signal()
# Sent after interactions were stored (import or ingest API). kwargs: created, purchases (how many new
# purchase events: basket models rebuild on those).
interactions_imported = Signal()
