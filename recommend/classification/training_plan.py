"""How long a training will take, before it starts, and an ETA in every progress message while it runs.

Each finished version records its measured throughput (seconds per training product, whole job); the
next estimate uses the latest one with the same model size, or a figure measured on this machine when
there is none yet. The "Train classifier" form's default sample is the largest that fits a time budget.
"""

import time
from dataclasses import dataclass
from typing import Any

from recommend.core.progress import ProgressCallback
from recommend.models import ModelVersion

# Whole-job seconds per training product measured here (2 cores, the demo catalog), used until a
# version of the same size has been trained on this installation.
MEASURED_SECONDS_PER_PRODUCT = {"demo": 0.0025, "full": 0.0075}
FIXED_SECONDS = 10.0  # loading products, evaluation, saving: roughly independent of the sample size
DEFAULT_BUDGET_SECONDS = 180


def size_name(*, demo: bool) -> str:
    return "demo" if demo else "full"


@dataclass(frozen=True)
class TrainingEstimate:
    products: int  # how many products it trains on
    available: int  # labelled products outside the held-out set
    seconds: float
    basis: str  # where the throughput comes from, for staff

    def text(self) -> str:
        share = "all" if self.products >= self.available else f"{self.products:,} of {self.available:,}"
        return f"about {duration_text(self.seconds)} for {share} labelled products ({self.basis})"


def duration_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest:02d} s" if minutes < 10 else f"{round(seconds / 60)} min"


def seconds_per_product(*, demo: bool) -> tuple[float, str]:
    """(seconds per training product, where it comes from): the latest measured version of this size."""
    size = size_name(demo=demo)
    finished = ModelVersion.objects.filter(
        kind=ModelVersion.Kind.CLASSIFIER,
        status__in=[ModelVersion.Status.READY, ModelVersion.Status.ACTIVE, ModelVersion.Status.RETIRED],
        metrics__has_key="timing.seconds_per_product",
    ).order_by("-version")
    for version in finished[:20]:
        if version.metrics.get("timing.size", size_name(demo=bool(version.params.get("demo")))) == size:
            rate = float(version.metrics["timing.seconds_per_product"])
            return rate, f"{1 / rate:,.0f} products/s measured on v{version.version}"
    rate = MEASURED_SECONDS_PER_PRODUCT[size]
    return rate, f"{1 / rate:,.0f} products/s, this machine's typical figure"


def default_epochs(*, demo: bool) -> int:
    from recommend.classification.training import classifier_config

    return classifier_config(demo=demo).epochs


def training_estimate(
    *, available: int, limit: int | None = None, demo: bool = False, epochs: int | None = None
) -> TrainingEstimate:
    rate, basis = seconds_per_product(demo=demo)
    products = min(limit, available) if limit else available
    scale = (epochs / default_epochs(demo=demo)) if epochs else 1.0
    return TrainingEstimate(products, available, FIXED_SECONDS + products * rate * scale, basis)


def limit_for_budget(*, available: int, demo: bool = False, budget: float = DEFAULT_BUDGET_SECONDS) -> int | None:
    """The largest sample that trains within `budget` seconds; None when the whole catalog fits."""
    rate, _ = seconds_per_product(demo=demo)
    fits = int(max(budget - FIXED_SECONDS, 0) / rate)
    return None if fits >= available else max(fits, 100)


def timing_metrics(*, started: float, train_products: int, demo: bool) -> dict[str, Any]:
    """Stored with the version: the throughput the next estimate starts from."""
    seconds = time.monotonic() - started
    return {
        "timing.seconds": round(seconds, 1),
        "timing.train_products": train_products,
        "timing.seconds_per_product": round(max(seconds - FIXED_SECONDS, 1.0) / max(train_products, 1), 6),
        "timing.size": size_name(demo=demo),
    }


class EtaProgress:
    """Wraps a progress callback: every message ends with the time left, from the estimate and the pace so far.

    Early on the pace says little, so the remaining time leans on the estimate; later on the measured pace.
    """

    def __init__(self, report: ProgressCallback, estimate_seconds: float) -> None:
        self.report = report
        self.estimate = max(estimate_seconds, 1.0)
        self.started = time.monotonic()

    def remaining(self, fraction: float) -> float:
        elapsed = time.monotonic() - self.started
        planned = max(self.estimate - elapsed, 0.0)
        if fraction <= 0.02:
            return planned
        paced = elapsed / fraction * (1 - fraction)
        trust = min(fraction * 2, 1.0)
        return trust * paced + (1 - trust) * planned

    def __call__(self, fraction: float, message: str = "") -> None:
        if fraction >= 1.0:
            self.report(fraction, message)
            return
        self.report(fraction, f"{message} · about {duration_text(self.remaining(fraction))} left")

    def phase(self, start: float, end: float) -> ProgressCallback:
        """A callback for one phase: its own 0..1 maps onto [start, end] of the whole job."""
        return lambda fraction, message="": self(start + (end - start) * min(max(fraction, 0.0), 1.0), message)
