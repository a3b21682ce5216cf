"""Which torch device training and batch inference run on: a GPU when one is present, the CPU otherwise.

``torch_device("auto")`` is CUDA when torch sees a CUDA GPU, else the CPU (Apple's MPS is used only when asked
for by name: the classifier's sparse embeddings are not supported there). ``"cpu"`` forces the CPU; ``"cuda"``,
``"cuda:1"`` or ``"mps"`` asked for on a machine without one is a ``ValueError`` that names the Django setting
(``TORCH_DEVICE``) so the operator knows what to change; failing loudly beats a silent 50x slower CPU run.

Models are trained and served on the chosen device, but artifacts always hold CPU tensors (``cpu_state``) and are
loaded with ``map_location="cpu"`` before being moved, so a model trained on a GPU worker loads in a CPU-only web
process and the other way round. The library's functions default to the CPU (deterministic and the same numbers
on every machine); the Django side passes ``settings.TORCH_DEVICE``, which defaults to ``"auto"``.
"""

from __future__ import annotations

import torch
from torch import nn

from recommend.ml.common.device_names import CHOICES, is_valid_preference

SETTING = "TORCH_DEVICE"
AUTO = "auto"

DeviceLike = str | torch.device | None


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def torch_device(preference: DeviceLike = AUTO) -> torch.device:
    """The torch.device for a setting value: "auto" (or None / ""), "cpu", "cuda", "cuda:N" or "mps".

    "auto" is CUDA when ``torch.cuda.is_available()``, else the CPU. A device that is asked for by name but not
    available here raises ValueError naming the setting.
    """
    text = str(preference) if isinstance(preference, torch.device) else (preference or AUTO).strip().lower()
    if not is_valid_preference(text):
        raise ValueError(f"{SETTING}: {preference!r} is not a torch device; use one of {CHOICES}")
    if text == AUTO:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(text)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"{SETTING}={text} asks for a CUDA GPU, but torch sees none here (a CPU-only torch build, no "
                f"driver, or CUDA_VISIBLE_DEVICES empty); set {SETTING}=auto to use a GPU only where there is one"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"{SETTING}={text}: torch sees only {torch.cuda.device_count()} CUDA device(s), numbered from 0"
            )
    elif device.type == "mps" and not _mps_available():
        raise ValueError(f"{SETTING}={text} asks for Apple's MPS, which torch does not see here; use auto or cpu")
    return device


def module_device(module: nn.Module) -> torch.device:
    """The device a model's parameters live on (the CPU for a model without parameters)."""
    for parameter in module.parameters():
        return parameter.device
    return torch.device("cpu")


def cpu_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """The module's state_dict with every tensor on the CPU, what artifacts store whatever device trained it.

    On the CPU ``.cpu()`` returns the tensor itself, so a CPU model saves exactly as it did before.
    """
    return {key: value.detach().cpu() for key, value in module.state_dict().items()}
