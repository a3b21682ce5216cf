"""Admin forms of the job admin (the catalog import form)."""

from django import forms

from catalog.importers.presets import IMPORT_LIMIT_MAX, PRESETS


class ImportJobForm(forms.Form):
    preset = forms.ChoiceField(choices=[(name, name.capitalize()) for name in sorted(PRESETS)])
    limit = forms.IntegerField(
        required=False, min_value=1, max_value=IMPORT_LIMIT_MAX, help_text="Only the first N rows of each file."
    )
    strict = forms.BooleanField(required=False, help_text="All or nothing: any bad row aborts the import.")
