"""URL converter for row ids: `<id:pk>` matches 1 to 18 digits, so an id past the database's 64-bit range is a
404 from the resolver instead of an OverflowError (SQLite) or DataError (PostgreSQL) in the view."""

from django.urls import register_converter


class RowIdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def register() -> None:
    register_converter(RowIdConverter, "id")
