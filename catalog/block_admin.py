"""Back office: impressions, clicks and click-through of each storefront recommendation block, per day.

The list's header shows, per block, the last 30 days as a small inline SVG (bars: impressions per
day; line: click-through) from one grouped query, so staff see at a glance which block is used.
"""

from datetime import date, timedelta
from typing import Any

from django.contrib import admin
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone

from catalog.models import BlockStat

CHART_DAYS = 30
CHART_WIDTH, CHART_HEIGHT = 180, 40


def _ctr(clicks: int, impressions: int) -> float | None:
    return clicks / impressions if impressions else None


def block_chart(series: dict[date, tuple[int, int]], *, start: date, days: int = CHART_DAYS) -> dict[str, Any]:
    """Bars (impressions) and a polyline (click-through) in SVG coordinates, each scaled to its own maximum."""
    step = CHART_WIDTH / days
    top_impressions = max((imp for imp, _ in series.values()), default=0) or 1
    rates = {day: _ctr(clicks, imp) for day, (imp, clicks) in series.items()}
    top_rate = max((r for r in rates.values() if r is not None), default=0.0) or 1.0
    bars, points = [], []
    for index in range(days):
        day = start + timedelta(days=index)
        impressions, _clicks = series.get(day, (0, 0))
        height = round(CHART_HEIGHT * impressions / top_impressions, 1)
        bars.append({"x": round(index * step, 1), "y": round(CHART_HEIGHT - height, 1), "h": height, "day": day})
        rate = rates.get(day)
        if rate is not None:
            points.append(
                f"{round(index * step + step / 2, 1)},{round(CHART_HEIGHT - CHART_HEIGHT * rate / top_rate, 1)}"
            )
    return {
        "bars": bars,
        "bar_width": round(max(step - 1, 1), 1),
        "points": " ".join(points),
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
    }


def block_summaries(*, today: date | None = None, days: int = CHART_DAYS) -> list[dict[str, Any]]:
    """Per block (and experiment arm): totals over the window, click-through and the chart; one query."""
    today = today or timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = (
        BlockStat.objects.filter(day__gte=start, day__lte=today)
        .values("block", "variant", "day")
        .annotate(impressions=Sum("impressions"), clicks=Sum("clicks"))
        .order_by("block", "variant", "day")
    )
    series: dict[tuple[str, str], dict[date, tuple[int, int]]] = {}
    for row in rows:
        series.setdefault((row["block"], row["variant"]), {})[row["day"]] = (row["impressions"], row["clicks"])
    summaries = []
    for (block, variant), by_day in series.items():
        impressions = sum(imp for imp, _ in by_day.values())
        clicks = sum(c for _, c in by_day.values())
        rate = _ctr(clicks, impressions)
        summaries.append(
            {
                "block": block,
                "variant": variant,
                "impressions": impressions,
                "clicks": clicks,
                "ctr_percent": None if rate is None else round(100 * rate, 2),
                "chart": block_chart(by_day, start=start, days=days),
            }
        )
    return sorted(summaries, key=lambda s: -s["impressions"])


@admin.register(BlockStat)
class BlockStatAdmin(admin.ModelAdmin):
    list_display = ["day", "block", "variant", "impressions", "clicks", "click_through_column"]
    list_filter = ["block", "variant", "day"]
    date_hierarchy = "day"
    readonly_fields = ["day", "block", "variant", "impressions", "clicks"]

    @admin.display(description="Click-through")
    def click_through_column(self, stat: BlockStat) -> str:
        rate = stat.click_through
        return "–" if rate is None else f"{100 * rate:.2f} %"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the storefront writes these counters; staff only read them

    def has_change_permission(self, request: HttpRequest, obj: BlockStat | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        extra_context = {**(extra_context or {}), "block_summaries": block_summaries(), "chart_days": CHART_DAYS}
        return super().changelist_view(request, extra_context=extra_context)
