"""One small model protocol for every capability's models, and a registry to pick one by name."""

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar


class Model(Protocol):
    """What a trainable model offers: fit on data, score or predict, save to and load from a folder."""

    def fit(self, *args: Any, **kwargs: Any) -> "Model": ...

    def save(self, folder: Path) -> None: ...

    @classmethod
    def load(cls, folder: Path) -> "Model": ...


ModelType = TypeVar("ModelType", bound=type)

MODELS: dict[str, dict[str, type]] = {}


def register_model(capability: str, name: str) -> Callable[[ModelType], ModelType]:
    """Class decorator: `@register_model("sequential", "sasrec")` makes it `get_model("sequential", "sasrec")`."""

    def register(cls: ModelType) -> ModelType:
        MODELS.setdefault(capability, {})[name] = cls
        return cls

    return register


def get_model(capability: str, name: str) -> type:
    try:
        return MODELS[capability][name]
    except KeyError:
        known = ", ".join(sorted(MODELS.get(capability, {})))
        raise KeyError(f"No {capability} model named {name!r}; known: {known or 'none'}.") from None
