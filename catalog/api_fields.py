"""Id fields that check the number before the database sees it: DRF's PrimaryKeyRelatedField and Django's
ModelChoiceField catch ValueError and TypeError, but an id past 64 bits raises OverflowError on SQLite and
DataError on PostgreSQL (a 500). These answer "does not exist" / "invalid choice" instead."""

from typing import Any

import django_filters
from django import forms
from rest_framework import serializers

from catalog.selectors import db_id


class RowIdRelatedField(serializers.PrimaryKeyRelatedField):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, int | str) and not isinstance(data, bool) and db_id(data) is None:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class RowIdChoiceField(forms.ModelChoiceField):
    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and db_id(value) is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class RowIdChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = RowIdChoiceField
