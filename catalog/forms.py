"""Admin forms of the catalog."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect

from catalog.models import Product
from taxonomy.models import Category


class MoveToCategoryForm(forms.Form):
    # Search-as-you-type over the category admin's search fields: a real taxonomy has thousands of nodes.
    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(is_active=True),
        widget=AutocompleteSelect(Product._meta.get_field("category"), admin.site),
        help_text="Type part of its name. The products become part of it; the classifier will not move them back.",
    )
