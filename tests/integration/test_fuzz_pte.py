"""A fixed-seed fuzz of the engine's .pte loader: mutated programs (truncated,
bits flipped, bytes overwritten in the flatbuffer and in the delegate and
constant segments, fields edited through ExecuTorch's own serializer) made
from models exported at test time, each loaded, described and executed by
tests/project/fuzz_runner.gd, a fresh engine per batch. A game must survive any
file it is handed: every program has to be refused with an error or run; none
may crash the engine, hang it, or fail without saying why.

The harness is tools/fuzz_pte.py; to reproduce a failure with the programs kept:
    .venv/bin/python -m tools.fuzz_pte --cases 2000 --seed test-fuzz-1 --keep-crashers build/fuzz
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from tools.fuzz_pte import DEFAULT_MODELS, KINDS, Report, Result, Runner, export_seeds, file_cases, run_fuzz

FUZZ_SEED = "test-fuzz-1"
FUZZ_CASES = 2000  # 40+ per model and mutation kind (8 x 6); about 55 s of engine time on 2 cores, under 3 minutes with the exports
FUZZ_MODELS = DEFAULT_MODELS  # the portable bank models, the MLP on XNNPACK, and int8 XNNPACK programs
KNOWN_CRASHERS = Path(__file__).resolve().parents[1] / "fixtures" / "fuzz_examples"
"""Ten programs that crashed the engine once (see the README.md there): eight kept
as they are, two 5 MB ones as a byte patch of the XNNPACK MLP seed (large.json)."""
REPRODUCE = f".venv/bin/python -m tools.fuzz_pte --cases {FUZZ_CASES} --seed {FUZZ_SEED} --keep-crashers build/fuzz"


def _describe(results: list[Result], limit: int = 25) -> str:
    """The failing cases, one line each, with what was mutated and how it ended."""
    lines = [f"  {r.case.id} {r.case.model} {r.case.kind} mode={r.case.mode} [{r.signature or r.outcome}] "
             f"{r.case.note} -> {r.detail[:240]}" for r in results[:limit]]
    if len(results) > limit:
        lines.append(f"  ... and {len(results) - limit} more")
    classes = Counter(r.signature for r in results if r.signature)
    if classes:
        lines.append("classes: " + "; ".join(f"{count}x {name}" for name, count in classes.most_common()))
    return "\n".join(lines)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory):
    return export_seeds(tmp_path_factory.mktemp("fuzz_seeds"), FUZZ_MODELS, log=lambda _: None)


@pytest.fixture(scope="module")
def fuzz_report(godot_bin: Path, seeds, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return run_fuzz(godot_bin, seeds, FUZZ_CASES, FUZZ_SEED, tmp_path_factory.mktemp("fuzz_cases"), batch=75, jobs=2)


def test_fuzz_covers_every_model_and_mutation(fuzz_report: Report) -> None:
    """The harness itself works: every model x kind got cases, the mutations
    changed the programs, and the engine both refused some and ran some (a
    harness that calls everything one outcome tells nothing)."""
    cells = fuzz_report.table()
    thin = [f"{model}/{kind}" for model in FUZZ_MODELS for kind in KINDS
            if sum(cells.get((model, kind), Counter()).values()) < 40]
    assert not thin, f"too few cases for {', '.join(thin)}"
    assert len(fuzz_report.results) == FUZZ_CASES
    assert fuzz_report.count("refused") >= FUZZ_CASES // 10, fuzz_report.table()
    assert fuzz_report.count("ran") >= FUZZ_CASES // 10, fuzz_report.table()
    bad_controls = [r for r in fuzz_report.controls if r.outcome != "ran" or r.errors]
    assert not bad_controls, "the round-tripped seeds must run cleanly:\n" + _describe(bad_controls)


def test_no_mutated_program_crashes_or_hangs_the_engine(fuzz_report: Report) -> None:
    found = fuzz_report.findings("crashed", "hung")
    assert not found, (f"{len(found)} of {FUZZ_CASES} mutated programs crashed or hung the engine; "
                       f"reproduce with `{REPRODUCE}`:\n" + _describe(found))


def test_every_refusal_prints_an_error(fuzz_report: Report) -> None:
    found = fuzz_report.findings("silent")
    assert not found, ("these programs failed to load or run without any error printed; the failing "
                       "call must print why:\n" + _describe(found))


def test_no_batch_leaks_at_exit(fuzz_report: Report) -> None:
    assert not fuzz_report.leaky_batches, "Godot reported leaks at exit after these batches:\n" + "\n".join(
        fuzz_report.leaky_batches[:5])


def _known_crashers(seeds, directory: Path) -> list[Path]:
    """The ten programs, in `directory`: the small ones copied, the large ones
    rebuilt from the exported seed and checked against their recorded SHA-256."""
    directory.mkdir()
    for program in sorted(KNOWN_CRASHERS.glob("*.pte")):
        shutil.copy(program, directory / program.name)
    for name, recipe in json.loads((KNOWN_CRASHERS / "large.json").read_text()).items():
        data = bytearray(seeds[recipe["seed"]].data)
        patch = bytes.fromhex(recipe["bytes"])
        data[recipe["offset"]:recipe["offset"] + len(patch)] = patch
        assert hashlib.sha256(data).hexdigest() == recipe["sha256"], (
            f"{name}: the {recipe['seed']} export is no longer byte-identical to the one the crasher was made from")
        (directory / name).write_bytes(data)
    return sorted(directory.glob("*.pte"))


def test_known_crashers_are_refused_or_run(godot_bin: Path, seeds, tmp_path: Path) -> None:
    """The ten programs of the first fuzzing round, each loaded with
    load_from_file then ExecuTorchRuntime, and as a resource."""
    programs = _known_crashers(seeds, tmp_path / "known")
    assert len(programs) == 10, programs
    results = Runner(godot_bin, tmp_path / "cases").run("known", file_cases(programs))
    bad = [r for r in results if r.outcome in ("crashed", "hung", "silent")]
    assert not bad, f"{len(bad)} of {len(results)} known-crasher runs still fail:\n" + _describe(bad)
    refused = [r for r in results if r.outcome == "refused"]
    assert len(refused) == len(results), "every known crasher is refused at load:\n" + _describe(
        [r for r in results if r.outcome != "refused"])
