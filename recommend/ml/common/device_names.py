"""The spellings TORCH_DEVICE accepts, without torch: Django's settings check them at start-up, and
`recommend.ml.common.device` maps them to a torch.device."""

import re

CHOICES = "auto, cpu, cuda, cuda:N or mps"
_PATTERN = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")


def is_valid_preference(preference: str) -> bool:
    """Whether `preference` is spelled like a device this project accepts (no torch query)."""
    return bool(_PATTERN.match(preference.strip().lower()))
