"""Export PyTorch modules to ExecuTorch ``.pte`` files and check them.

Replaces the concept's ``convert_model.py``/``run.py``. CLI::

    python -m model_tools list
    python -m model_tools export NAME --out path.pte [--backend portable|xnnpack] [--preserve-linear]
        [--quantize int8|int8-static]                               # int8 runs on XNNPACK
    python -m model_tools export --module file.py:ClassOrFactory [--example-shape 1,4 ...] --out x.pte
    python -m model_tools export-bank DIR [--only NAME ...]     # every BANK model as DIR/NAME.pte
    python -m model_tools train digits --out digits.pte [--quantize int8|int8-static] [--epochs 30]
    python -m model_tools train policy --out policy.pte            # [B, 16] -> [B, 4], B up to 4,096
    python -m model_tools verify path.pte --model NAME [--atol 1e-4] [--json]
    python -m model_tools verify path.pte --module file.py:ClassOrFactory [--example-shape 1,4 ...]
    python -m model_tools info path.pte [--json]
    python -m model_tools bench-python path.pte [--input-shape 1 ...] [--iterations 10000] [--warmup 100]

Python API (for test fixtures)::

    from model_tools import export_model, verify
    pte = export_model("linear", tmp_path / "linear.pte")          # -> Path
    report = verify(pte, "linear", atol=1e-4)                      # report["ok"] is True
    paths = export_bank(tmp_path / "bank")                         # {"embedding": Path(...), ...}

Built-in models and their exported shapes are documented in
:mod:`model_tools.models`. Importing this package imports torch but not
executorch (which takes seconds); executorch is imported on first use.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from pathlib import Path


def _use_the_installed_executorch_only() -> None:
    """`executorch` is a namespace package, and when Python runs from the
    repository (python -m, pytest) the repository's executorch/ folder — the
    C++ source submodule, or its empty folder in a clone without it — is one of
    its locations, ahead of the installed package: a populated submodule's
    uncompiled exir/ would shadow the installed one. Keep the installed folder
    (the one with version.py) only, before any executorch submodule loads."""
    executorch = importlib.import_module("executorch")
    installed = [p for p in executorch.__path__ if (Path(p) / "version.py").is_file()]
    if installed:
        executorch.__path__ = installed


_use_the_installed_executorch_only()

# Dependency noise that says nothing about the export, silenced here, before
# torch and executorch load, for the CLI and every importer alike: torchao logs a warning for each CUDA kernel library it cannot
# load on a CPU-only machine, torch's pytree logs that an enum executorch
# registers needs no registration, and executorch still calls a pytree API that
# torch marks deprecated (a FutureWarning per exported model).
logging.getLogger("torchao").setLevel(logging.ERROR)
logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning)

from model_tools.errors import UserError  # noqa: E402
from model_tools.exporting import BACKENDS, BANK, export_bank, export_model, export_spec  # noqa: E402
from model_tools.models import MODELS, ModelSpec, ProgramSpec  # noqa: E402
from model_tools.verifying import verify  # noqa: E402

__all__ = [
    "BACKENDS",
    "BANK",
    "MODELS",
    "ModelSpec",
    "ProgramSpec",
    "UserError",
    "export_bank",
    "export_model",
    "export_spec",
    "verify",
]
