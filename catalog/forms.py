"""Admin forms of the catalog."""

from django import forms
from mptt.forms import TreeNodeChoiceField

from taxonomy.models import Category


class MoveToCategoryForm(forms.Form):
    category = TreeNodeChoiceField(
        queryset=Category.objects.filter(is_active=True),
        level_indicator="— ",
        help_text="The products become part of this category; the classifier will not change them back.",
    )
