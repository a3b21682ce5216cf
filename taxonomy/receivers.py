"""Keep cached views of the trees fresh: any change to a node bumps the tree version."""

from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from mptt.signals import node_moved

from taxonomy.models import AttributeNode, Category
from taxonomy.selectors import TREE_VERSION_KEY
from taxonomy.signals import taxonomy_changed


@receiver(taxonomy_changed)
@receiver(node_moved, sender=Category)
@receiver(post_save, sender=Category)
@receiver(post_delete, sender=Category)
@receiver(post_save, sender=AttributeNode)
@receiver(post_delete, sender=AttributeNode)
def bump_tree_version(sender: Any, **kwargs: Any) -> None:
    try:
        cache.incr(TREE_VERSION_KEY)
    except ValueError:
        cache.set(TREE_VERSION_KEY, 2, None)
