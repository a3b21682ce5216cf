"""The one progress callback type: `progress(fraction 0..1, message)`, used by jobs, commands and ml code."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

ProgressCallback = Callable[[float, str], None]


def no_progress(fraction: float, message: str = "") -> None:
    """A progress callback that ignores every update."""


def scaled_progress(progress: ProgressCallback, start: float, end: float) -> ProgressCallback:
    """A callback that maps a phase's own 0..1 onto [start, end] of the parent's progress."""

    def report(fraction: float, message: str = "") -> None:
        progress(start + (end - start) * min(max(fraction, 0.0), 1.0), message)

    return report


@contextmanager
def progress_bar(description: str) -> Iterator[ProgressCallback]:
    """A terminal progress bar (tqdm, 0-100 %) as a ProgressCallback, for management commands."""
    from tqdm import tqdm

    with tqdm(total=100, unit="%", desc=description) as bar:

        def report(fraction: float, message: str = "") -> None:
            bar.n = round(fraction * 100)
            bar.set_postfix_str(message[:70])
            bar.refresh()

        yield report
