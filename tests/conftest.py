"""Shared pytest set-up: the repository root on sys.path, so `generator`,
`model_tools` and `tools` import the same way in every test layer."""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# With the repository root on sys.path, its executorch/ folder (the C++ source
# submodule) joins the installed `executorch` namespace package; importing
# model_tools first keeps that package to the installed folder.
import model_tools  # noqa: E402,F401
