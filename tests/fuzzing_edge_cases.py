"""Hostile inputs the generated fuzz (tests/fuzzing.py) does not write by itself, sent to every operation of the
OpenAPI schema and to the storefront pages that read filters: a NUL byte in each query parameter, in each
string of a JSON body and in each facet; every query parameter repeated with a NUL in the first and in the last
value (a form field validates only the last); a JSON body nested 10,000 levels deep.

Each answer must be below 500 (or a documented 503); a server error is recorded with the request that caused
it. On SQLite a NUL byte is stored quietly: the PostgreSQL fuzz (tests/integration/test_fuzz_postgres.py), or a
database wrapper that refuses NUL as PostgreSQL's driver does, makes those cases count.
"""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

NUL = "\x00"
DEEP_JSON = "[" * 10_000 + "]" * 10_000
PATH_PARAMETER = re.compile(r"\{[^}]+\}")
BODY_METHODS = {"post", "put", "patch", "delete"}


@dataclass(frozen=True)
class EdgeCase:
    name: str  # "nul-query", "repeated-query", "nul-body", "deep-json", "nul-facet"
    method: str
    path: str
    query: dict[str, list[str]] | None = None
    body: str | None = None  # raw JSON text


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _nul_body(schema: dict[str, Any], request_body: dict[str, Any]) -> Any:
    """The operation's JSON body with a NUL in every property (a list of one such object for a batch)."""
    media = request_body.get("content", {}).get("application/json", {}).get("schema", {})
    node = _resolve(schema, media)
    is_list = node.get("type") == "array"
    if is_list:
        node = _resolve(schema, node.get("items", {}))
    item = {name: NUL for name in node.get("properties", {})} or {"value": NUL}
    return [item] if is_list else item


def api_edge_cases(schema: dict[str, Any]) -> Iterator[EdgeCase]:
    """The cases for every operation of an OpenAPI document (path parameters filled with 1)."""
    for template, operations in schema.get("paths", {}).items():
        path = PATH_PARAMETER.sub("1", template)
        for method, operation in operations.items():
            if method not in BODY_METHODS | {"get"}:
                continue
            query = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
            for name in query:
                yield EdgeCase("nul-query", method, path, query={name: [f"a{NUL}b"]})
                yield EdgeCase("repeated-query", method, path, query={name: [NUL, "1"]})
                yield EdgeCase("repeated-query", method, path, query={name: ["1", NUL]})
            if method in BODY_METHODS:
                yield EdgeCase("deep-json", method, path, body=DEEP_JSON)
                if "requestBody" in operation:
                    body = _nul_body(schema, operation["requestBody"])
                    yield EdgeCase("nul-body", method, path, body=json.dumps(body))


def storefront_edge_cases(*, category_url: str | None, attribute_id: int, brand_id: int) -> Iterator[EdgeCase]:
    """Facets and the query on the search page and a category page: NUL values and repeated parameters."""
    facets = [
        {"a": [f"{attribute_id}:{NUL}"]},
        {"a": [f"{attribute_id}:red", f"{attribute_id}:{NUL}"]},
        {"a": [f"{NUL}:red"]},
        {"brand": [NUL, str(brand_id)]},
        {"brand": [str(brand_id), NUL]},
        {"price": [NUL, "0-500"]},
        {"page": [NUL, "2"]},
    ]
    for facet in facets:
        yield EdgeCase("nul-facet", "get", "/search/", query={"q": ["shirt"], **facet})
        if category_url:
            yield EdgeCase("nul-facet", "get", category_url, query=facet)
    yield EdgeCase("nul-query", "get", "/search/", query={"q": [NUL, "shirt"]})


def send(client: Any, case: EdgeCase, headers: dict[str, str]) -> Any:
    """One case through Django's test client (no CSRF checks, a 500 answered rather than raised)."""
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    url = f"{case.path}?{_query(case.query)}" if case.query else case.path
    return client.generic(case.method.upper(), url, case.body or "", content_type="application/json", **extra)


def _query(query: dict[str, list[str]] | None) -> str:
    from urllib.parse import urlencode

    return urlencode([(name, value) for name, values in (query or {}).items() for value in values])


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


@contextmanager
def database_refusing_nul() -> Iterator[None]:
    """SQLite stores a NUL byte; inside this, a query with one fails as PostgreSQL's driver makes it fail."""
    from django.db import DataError, connection

    def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if _has_nul(params):
            raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield
