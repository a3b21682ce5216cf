"""Reading the recommender's `.pt` files with `torch.load(weights_only=True)`: tensors and plain Python values
only, so a tampered artifact cannot run code when a web process loads it.

Artifacts written before kept item popularity as a numpy array; numpy's array rebuild (data, not code) is
allowed so they still load. Anything else that is not plain data is refused with a ValueError saying so.
"""

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy._core.multiarray import _reconstruct

# What unpickling a plain numeric numpy array needs (numpy 2 keeps the rebuild function in numpy._core).
NUMPY_ARRAY_GLOBALS: list[Any] = [
    _reconstruct,
    np.ndarray,
    np.dtype,
    *(type(np.dtype(kind)) for kind in (np.float64, np.float32, np.int64, np.int32)),
]


def checkpoint_load(path: Path, *, what: str = "sequential recommender artifact") -> dict[str, Any]:
    """The saved dict, read on the CPU with weights_only=True; ValueError for a file that is not one."""
    try:
        with torch.serialization.safe_globals(NUMPY_ARRAY_GLOBALS):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{Path(path).name} is not a {what} that loads safely: {first_line}") from None
    if not isinstance(state, dict):
        raise ValueError(f"{Path(path).name} is not a {what}: it holds {type(state).__name__}, not a dict")
    return state
