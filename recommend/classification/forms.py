"""Admin forms of classification."""

from django import forms


class TrainClassifierForm(forms.Form):
    force = forms.BooleanField(
        required=False,
        label="Force activation",
        help_text="Activate the new version even if it is worse than the active one on the held-out products.",
    )
    epochs = forms.IntegerField(required=False, min_value=1, max_value=100, help_text="Default: the model's own.")
    limit = forms.IntegerField(
        required=False,
        min_value=10,
        help_text="Train on a label-balanced sample of at most N products (the default fits the time budget; "
        "empty: all of them).",
    )
