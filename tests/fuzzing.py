"""In-process API fuzzing with schemathesis: every operation of the OpenAPI schema (drf-spectacular,
/api/schema/) called through the WSGI app with generated valid and invalid inputs, once per role
(anonymous, staff token), counting requests, server errors and responses that break the schema.

Then the hand-written hostile cases of tests/fuzzing_edge_cases.py (NUL bytes, repeated parameters, JSON nested
10,000 deep) go to every operation and to the storefront's filtered pages, once per role.

Shared by the bounded test (tests/unit/test_h14_fuzz.py) and the longer run (benchmarks/fuzz.py). The
caller sets Django up on a database it may write to. While fuzzing, throttles are off (the fuzzer is
one client), jobs stay queued instead of running (a generated import would load a dataset), and the
request signals do not close the database connection (a test's transaction stays open).
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# Only the first line of a traceback or response body goes into the report.
DETAIL_CHARS = 300
# 503 is a documented answer (no model trained yet, task queue unreachable), not a crash.
EXPECTED_5XX = {503}


@dataclass
class FuzzReport:
    requests: int = 0
    operations: int = 0
    server_errors: list[dict[str, Any]] = field(default_factory=list)
    schema_violations: list[dict[str, Any]] = field(default_factory=list)
    by_status: dict[int, int] = field(default_factory=dict)
    # Operations a mode cannot generate for (no parameters to make invalid).
    unsatisfiable: list[str] = field(default_factory=list)
    edge_cases: int = 0  # hand-written hostile requests sent (tests/fuzzing_edge_cases.py)

    def summary(self) -> dict[str, float]:
        return {
            "fuzz.requests": float(self.requests),
            "fuzz.operations": float(self.operations),
            "fuzz.server_errors": float(len(self.server_errors)),
            "fuzz.schema_violations": float(len(self.schema_violations)),
            "fuzz.edge_cases": float(self.edge_cases),
        }


class ErrorLog(logging.Handler):
    """Keeps the last unhandled exception Django logged for a request (django.request, level ERROR)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            self.last = f"{type(error).__name__}: {error}"[:DETAIL_CHARS]


@contextmanager
def fuzzing_environment() -> Iterator[ErrorLog]:
    from django.core import signals
    from django.db import close_old_connections
    from django.test import override_settings

    from recommend.core import jobs

    rest = {
        **_rest_framework_settings(),
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(["anon", "user", "classify", "classify_items", "search"]),
    }
    dispatch = jobs.job_dispatch
    jobs.job_dispatch = lambda **kwargs: None  # type: ignore[assignment]
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    log = ErrorLog()
    request_logger = logging.getLogger("django.request")
    level = request_logger.level
    request_logger.setLevel(logging.ERROR)  # thousands of "Bad Request: ..." lines are the point, not news
    request_logger.addHandler(log)
    try:
        with override_settings(REST_FRAMEWORK=rest, AXES_ENABLED=False):
            yield log
    finally:
        request_logger.removeHandler(log)
        request_logger.setLevel(level)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
        jobs.job_dispatch = dispatch  # type: ignore[assignment]


def _rest_framework_settings() -> dict[str, Any]:
    from django.conf import settings

    return dict(settings.REST_FRAMEWORK)


def failure_text(failure: BaseException) -> str:
    """Each check failure's title and first message line (a FailureGroup holds several)."""
    parts = getattr(failure, "exceptions", None) or [failure]
    texts = []
    for part in parts:
        message = (getattr(part, "message", "") or str(part)).strip().splitlines()
        texts.append(f"{getattr(part, 'title', type(part).__name__)}: {message[0] if message else ''}")
    return "; ".join(texts)[:DETAIL_CHARS]


def _label(case: Any) -> str:
    return f"{case.method} {case.formatted_path}"


def run_operation(
    operation: Any,
    *,
    mode: Any,
    role: str,
    headers: dict[str, str],
    max_examples: int,
    report: FuzzReport,
    log: ErrorLog,
) -> None:
    """Hypothesis drives the examples; every response is checked, failures are counted, nothing raises."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def examples(case: Any) -> None:
        log.last = ""
        response = case.call(headers=headers)
        report.requests += 1
        report.by_status[response.status_code] = report.by_status.get(response.status_code, 0) + 1
        where = {"operation": _label(case), "role": role, "mode": mode.value, "status": response.status_code}
        if response.status_code >= 500 and response.status_code not in EXPECTED_5XX:
            report.server_errors.append({**where, "error": log.last or response.text[:DETAIL_CHARS]})
            return
        try:
            case.validate_response(
                response, checks=[response_schema_conformance, content_type_conformance], headers=headers
            )
        except (Exception, BaseExceptionGroup) as failure:  # schemathesis raises a group of check failures
            report.schema_violations.append({**where, "error": failure_text(failure)})

    try:
        examples()
    except Unsatisfiable:
        report.unsatisfiable.append(f"{operation.method.upper()} {operation.path} ({mode.value})")


def run_edge_cases(*, roles: dict[str, dict[str, str]], report: FuzzReport, log: ErrorLog) -> None:
    """The hand-written hostile cases for each role; a 5xx other than a documented 503 is a server error."""
    from django.test import Client

    from catalog.models import Brand
    from taxonomy.models import AttributeNode, Category
    from tests.fuzzing_edge_cases import api_edge_cases, send, storefront_edge_cases

    schema = Client().get("/api/schema/", {"format": "json"}).json()
    category = Category.objects.filter(is_active=True).first()
    attribute = AttributeNode.objects.filter(kind=AttributeNode.Kind.ATTRIBUTE).values_list("pk", flat=True).first()
    storefront = storefront_edge_cases(
        category_url=category.get_absolute_url() if category else None,
        attribute_id=attribute or 1,
        brand_id=Brand.objects.values_list("pk", flat=True).first() or 1,
    )
    cases = [*api_edge_cases(schema), *storefront]
    for role, headers in roles.items():
        client = Client(raise_request_exception=False)
        for case in cases:
            log.last = ""
            response = send(client, case, headers)
            report.requests += 1
            report.edge_cases += 1
            report.by_status[response.status_code] = report.by_status.get(response.status_code, 0) + 1
            if response.status_code >= 500 and response.status_code not in EXPECTED_5XX:
                error = log.last or response.content[:DETAIL_CHARS].decode(errors="replace")
                where = {"operation": f"{case.method.upper()} {case.path}", "role": role, "mode": case.name}
                report.server_errors.append(
                    {**where, "status": response.status_code, "error": f"{error} (query {case.query!r})"}
                )


def fuzz_api(
    *,
    roles: dict[str, dict[str, str]],
    max_examples: int,
    modes: tuple[str, ...] = ("positive", "negative"),
    edge_cases: bool = True,
) -> FuzzReport:
    """Fuzz every operation for each role (name -> request headers) and generation mode, then (`edge_cases`)
    send the hand-written hostile cases."""
    import schemathesis
    from schemathesis import GenerationMode

    from config.wsgi import application

    report = FuzzReport()
    with fuzzing_environment() as log:
        schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
        operations = [result.ok() for result in schema.get_all_operations()]
        report.operations = len(operations)
        for operation in operations:
            for mode in modes:
                for role, headers in roles.items():
                    run_operation(
                        operation,
                        mode=GenerationMode(mode),
                        role=role,
                        headers=headers,
                        max_examples=max_examples,
                        report=report,
                        log=log,
                    )
        if edge_cases:
            run_edge_cases(roles=roles, report=report, log=log)
    return report
