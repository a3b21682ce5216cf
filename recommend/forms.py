"""Admin forms of recommend."""

from django import forms

from catalog.importers.presets import PRESETS


class ImportJobForm(forms.Form):
    preset = forms.ChoiceField(choices=[(name, name.capitalize()) for name in sorted(PRESETS)])
    limit = forms.IntegerField(required=False, min_value=1, help_text="Only the first N rows of each file.")
    strict = forms.BooleanField(required=False, help_text="All or nothing: any bad row aborts the import.")


class TrainClassifierForm(forms.Form):
    force = forms.BooleanField(
        required=False,
        label="Force activation",
        help_text="Activate the new version even if it is worse than the active one on the held-out products.",
    )
    epochs = forms.IntegerField(required=False, min_value=1, max_value=100, help_text="Default: the model's own.")
    limit = forms.IntegerField(
        required=False, min_value=10, help_text="Train on a label-balanced sample of at most N products."
    )
