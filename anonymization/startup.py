"""A fast start for processes that use only the offline default (the `pseudonymize` command).

Importing Presidio costs about two seconds of CPU, half of it PyTorch, which the offline default
never uses: Presidio's device probe imports it (and touches CUDA where there is a GPU) unless
``PRESIDIO_DEVICE`` is set, and spaCy's thinc imports it to find out whether it is installed.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Final

PRESIDIO_DEVICE: Final = "PRESIDIO_DEVICE"
_NLP_MODULES: Final = ("anonymization.text", "anonymization.engines")


def import_offline_default() -> None:
    """Import the offline pipeline's modules without PyTorch.

    Sets ``PRESIDIO_DEVICE`` to "cpu" unless it is set, and hides PyTorch while spaCy and
    Presidio are first imported, unless PyTorch or spaCy's thinc is already loaded (then this
    only imports the modules). PyTorch imports normally afterwards.

    Notes:
        spaCy's thinc then records PyTorch as absent for the rest of the process, so call this
        only in a process that will not load a spaCy model built on PyTorch (transformer
        pipelines); the CPU models (``en_core_web_sm`` to ``_lg``) do not need it.
    """
    os.environ.setdefault(PRESIDIO_DEVICE, "cpu")
    hide = "torch" not in sys.modules and "thinc" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises
    try:
        for module in _NLP_MODULES:
            importlib.import_module(module)
    finally:
        if hide and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
