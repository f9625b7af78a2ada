"""The examples run as written: examples/digits/ and examples/agents/, copied
with the models the fixtures trained (the same `model_tools` code a user runs),
run headless by the engine under test for some frames."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.integration.conftest import REPO_ROOT, run_engine
from tools.godot_project import prepare_project


def _example(name: str, model: Path, work: Path) -> Path:
    project = work / name
    shutil.copytree(REPO_ROOT / "examples" / name, project)
    (project / "models").mkdir(exist_ok=True)
    shutil.copy(model, project / "models" / model.name)
    prepare_project(project)
    return project


def test_digits_example_reads_the_demo_drawing(godot_bin: Path, test_models: Path, tmp_path: Path):
    project = _example("digits", test_models / "digits.pte", tmp_path)
    run = run_engine(godot_bin, ["--path", str(project), "--quit-after", "90", "--", "--demo"])
    answers = re.findall(r"drawn: it's a (\d) \((\d+)%\)", run.stdout)
    assert answers, f"exit {run.returncode}\n{run.output[-3000:]}"
    assert answers[-1][0] == "2", f"the demo draws a 2; the model read {answers[-1]}\n{run.stdout[-2000:]}"
    assert "ERROR" not in run.stderr, run.stderr[-3000:]


def test_agents_example_follows_the_target_with_one_call_per_frame(godot_bin: Path, test_models: Path, tmp_path: Path):
    project = _example("agents", test_models / "policy.pte", tmp_path)
    run = run_engine(godot_bin, ["--path", str(project), "--quit-after", "600"])
    lines = re.findall(r"frame (\d+): 1000 agents, policy [\d.]+ ms per frame \(one execute\), \d+ fps, "
                       r"median distance off their rings (\d+) px", run.stdout)
    assert len(lines) == 10, f"exit {run.returncode}\n{run.output[-3000:]}"
    # Agents start anywhere; once the policy steers them they ride their rings.
    assert int(lines[-1][1]) < 30, run.stdout
    assert "ERROR" not in run.stderr, run.stderr[-3000:]
