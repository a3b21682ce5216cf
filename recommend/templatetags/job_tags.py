"""Template tags of the job runner: `{% demo_training_status as status %}` for the storefront's banner."""

from typing import Any

from django import template

from recommend.core.demo import demo_training_status as demo_status

register = template.Library()


@register.simple_tag
def demo_training_status() -> dict[str, Any] | None:
    """While the demo's models train: {done, total, percent, current}; None once they are all done."""
    return demo_status()
