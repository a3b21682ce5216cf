"""Progress callbacks of the pure ML code (the same shapes as `recommend.core.progress`, without Django).

`ProgressCallback(fraction 0..1, message)` is what trainers report; `CountProgress(done, total)` is
what batch encoders report. Any plain function with that signature fits.
"""

from typing import Protocol


class ProgressCallback(Protocol):
    def __call__(self, fraction: float, message: str, /) -> None: ...


class CountProgress(Protocol):
    def __call__(self, done: int, total: int, /) -> None: ...


def no_progress(fraction: float, message: str = "", /) -> None:
    """A progress callback that ignores every update."""
