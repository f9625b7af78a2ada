"""Fuzzes the engine's ExecuTorch loader: mutated `.pte` programs, each loaded,
described and executed by the built engine, to find the programs that crash or
hang it instead of being refused with an error.

    .venv/bin/python -m tools.fuzz_pte --cases 10000 --seed 1
        [--models linear,embedding,dynamic_batch,two_methods,mlp_xnnpack,mlp_int8,mlp_int8_static] [--kinds ...]
        [--godot BIN] [--batch 100] [--jobs 2] [--keep-crashers DIR] [--json report.json]
        [--seed-dir DIR] [--extra DIR_OR_PTE] [--hang-timeout 20] [--memory-limit-mb 6144]

The seed models are exported with model_tools (into a temporary directory, or
--seed-dir, reused when already there). Case N is made from the seed and N
alone (``random.Random(f"{seed}/{N}")``), so a case is reproducible whatever
--cases, --batch or --jobs were; the model and mutation kind go round-robin so
every prefix of a run covers them evenly. Mutation kinds (see KINDS):

- ``truncate``: the file cut at any length (most cuts in the flatbuffer, some at
  the header's and the segments' boundaries);
- ``bitflip``: 1-4 bits flipped; ``overwrite``: 1-16 bytes overwritten (random,
  0x00 or 0xFF), both mostly inside the flatbuffer;
- ``flatbuffer-targeted``: a u32/i32 at a 4-aligned offset, a u16 (vtable
  entries) at a 2-aligned one, or a u64 field of the extended header, set to an
  interesting value (0, 1, 0x7fffffff, 0xffffffff, 0x1000, small negatives,
  sizes near the file's) or nudged by a small delta;
- ``segment-targeted``: the same mutations inside the segments after
  segment_base_offset (constant data, the XNNPACK delegate blob);
- ``serializer``: the Program decoded with ExecuTorch's own serializer, one
  field edited (an index or size set out of range, a list element dropped, a
  value replaced by one of another type, an operator or backend renamed) and
  encoded again, so the file is well-formed and only its meaning is wrong.

Batches of cases run in a fresh engine each (tests/project/fuzz_runner.gd),
--jobs at a time. Every case ends as one of OUTCOMES: ``refused`` (the load
failed and an error was printed), ``ran`` (loaded, every method described and
executed, with or without an execute error), ``silent`` (something failed and
no error was printed: a bug), ``crashed`` (the process died: a signal, an abort,
an uncaught exception) or ``hung`` (no result within --hang-timeout seconds).
When a batch dies, the case it was running is run again alone, and the cases it
had not reached run as a new batch; the results printed before the crash stand.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from tools.godot_project import DEFAULT_ENGINE, REPO_ROOT, prepare_project

PROJECT = REPO_ROOT / "tests" / "project"
RUNNER = "res://fuzz_runner.gd"
DEFAULT_MODELS = ("linear", "embedding", "dynamic_batch", "two_methods", "mlp_xnnpack", "mlp_int8", "mlp_int8_static",
                  "cnn_int8_static")
KINDS = ("truncate", "bitflip", "overwrite", "flatbuffer-targeted", "segment-targeted", "serializer")
OUTCOMES = ("refused", "ran", "silent", "crashed", "hung")
FINDINGS = ("silent", "crashed", "hung")
"""Outcomes that are bugs: kept with --keep-crashers and listed in the report."""
# How a case is loaded, with weights: ExecuTorchModel.load_from_file,
# ExecuTorchRuntime.load_model_from_file (with hot reload watching the file, as
# in debug builds) and ResourceLoader.load (the `load()` path).
MODES = (("model", 2), ("runtime", 1), ("resource", 1))
DEFAULT_HANG_TIMEOUT = 20.0
DEFAULT_MEMORY_LIMIT_MB = 6144
"""Address-space limit per engine: a corrupt size must not let one case take the machine's memory."""
LEAK_MARKERS = ("leaked at exit", "still in use at exit", "Leaked instance")

INTERESTING_32 = (0, 1, 2, 3, 4, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x1000, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                  0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFF0, 0xFFFFFF80)
INTERESTING_16 = (0, 1, 2, 4, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF)
INTERESTING_64 = (0, 1, 8, 0x20, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000, 2**62, 2**63 - 1, 2**63, 2**64 - 1)
INTERESTING_INTS = (-1, -2, -(2**31), 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**40, 2**62, 2**63 - 1, 0x1000, 65537)


class FuzzError(Exception):
    """The harness itself cannot go on (no engine, a seed that does not run, a runner error)."""


# --------------------------------------------------------------------------- seeds


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where the parts of a .pte are: the flatbuffer (with the extended header
    inside its first bytes) ends at ``flatbuffer_end``; segment i spans
    ``segments[i]`` (absolute [start, end)), the ones in ``delegate_segments``
    hold delegate blobs."""

    size: int
    flatbuffer_end: int
    segment_base: int
    segments: tuple[tuple[int, int], ...]
    delegate_segments: tuple[int, ...]

    @property
    def has_header(self) -> bool:
        return self.segment_base > 0


@dataclasses.dataclass(frozen=True)
class Seed:
    """An exported model the cases are mutated from; ``pte`` is its serializer form."""

    name: str
    path: Path
    data: bytes = dataclasses.field(repr=False)
    layout: Layout
    pte: Any = dataclasses.field(repr=False)


# Seed-name suffixes: NAME lowered to XNNPACK, as it is or quantized (model_tools' --quantize).
SEED_SUFFIXES = {"_xnnpack": None, "_int8": "int8", "_int8_static": "int8-static"}


def seed_recipe(name: str) -> tuple[str, str, str | None]:
    """(built-in model, backend, quantization) for a seed name: a model bank
    stem, NAME_xnnpack (NAME lowered to XNNPACK), NAME_int8 or NAME_int8_static
    (NAME quantized for XNNPACK, dynamic or static) or a plain built-in model
    (portable)."""
    from model_tools import BANK, MODELS

    if name in BANK:
        return (*BANK[name], None)
    for suffix, quantize in sorted(SEED_SUFFIXES.items(), key=lambda item: -len(item[0])):
        if name.endswith(suffix) and name.removesuffix(suffix) in MODELS:
            return name.removesuffix(suffix), "xnnpack", quantize
    if name in MODELS:
        return name, "portable", None
    raise FuzzError(f"unknown model '{name}': use a model bank stem or built-in model ({', '.join(MODELS)}), "
                    f"optionally with {', '.join(SEED_SUFFIXES)}")


def read_extended_header(data: bytes) -> tuple[int, int] | None:
    """(program_size, segment_base_offset) from the "eh00" header after the
    flatbuffer's root offset and file identifier (executorch's
    exir/_serialize/_program.py: _ExtendedHeader), or None without one."""
    if len(data) < 40 or data[8:12] != b"eh00" or struct.unpack_from("<I", data, 12)[0] < 24:
        return None
    program_size, segment_base = struct.unpack_from("<QQ", data, 16)
    return program_size, segment_base


def program_layout(data: bytes) -> Layout:
    """The Layout of an unmutated program, from its header and the Program's segment table."""
    from executorch.exir._serialize._program import _flatbuffer_to_program
    from executorch.exir.schema import DataLocation

    header = read_extended_header(data)
    if header is None:
        return Layout(len(data), len(data), 0, (), ())
    program_size, segment_base = header
    program = _flatbuffer_to_program(data[:program_size])
    segments = tuple((segment_base + s.offset, segment_base + s.offset + s.size) for s in program.segments)
    delegates = tuple(sorted({d.processed.index for plan in program.execution_plan for d in plan.delegates
                              if d.processed.location == DataLocation.SEGMENT}))
    return Layout(len(data), program_size, segment_base, segments, delegates)


def export_seeds(directory: Path, names: Sequence[str], reuse: bool = False,
                 log: Callable[[str], None] = print) -> dict[str, Seed]:
    """Exports each seed model as directory/NAME.pte (kept when ``reuse`` and
    already there) and decodes it; exporting takes most of a short run."""
    from executorch.exir._serialize._program import deserialize_pte_binary
    from model_tools import export_model

    directory.mkdir(parents=True, exist_ok=True)
    seeds = {}
    for name in names:
        model, backend, quantize = seed_recipe(name)
        path = directory / f"{name}.pte"
        if not (reuse and path.is_file()):
            began = time.perf_counter()
            export_model(model, path, backend, quantize=quantize)
            how = backend + (f", {quantize}" if quantize else "")
            log(f"exported {name} ({model}, {how}) in {time.perf_counter() - began:.1f} s")
        data = path.read_bytes()
        seeds[name] = Seed(name, path, data, program_layout(data), deserialize_pte_binary(data))
    return seeds


# --------------------------------------------------------------------------- mutations


@dataclasses.dataclass(frozen=True)
class Case:
    """One mutated program; ``note`` says exactly what was changed. ``data`` is
    emptied once the case turned out harmless (see Runner.run); ``size`` stays."""

    id: str
    index: int
    model: str
    kind: str
    mode: str
    note: str
    data: bytes = dataclasses.field(repr=False)
    size: int = -1

    def __post_init__(self) -> None:
        if self.size < 0:
            object.__setattr__(self, "size", len(self.data))


def _flatbuffer_position(rng: random.Random, layout: Layout) -> int:
    """A byte offset, three times in four inside the flatbuffer, else anywhere in the file."""
    if rng.random() < 0.75 or layout.size <= layout.flatbuffer_end:
        return rng.randrange(layout.flatbuffer_end)
    return rng.randrange(layout.size)


def _segment_span(rng: random.Random, layout: Layout) -> tuple[int, int]:
    """A segment to mutate: a delegate blob more often than not (it is parsed,
    weights are only read), else any non-empty one; the whole tail without a table."""
    spans = [span for span in layout.segments if span[1] > span[0] and span[1] <= layout.size]
    delegates = [layout.segments[i] for i in layout.delegate_segments if i < len(layout.segments)]
    delegates = [span for span in delegates if span in spans]
    if delegates and rng.random() < 0.6:
        return rng.choice(delegates)
    if spans:
        return rng.choice(spans)
    start = min(layout.segment_base or layout.flatbuffer_end, layout.size - 1)
    return start, layout.size


def _bitflip(data: bytearray, rng: random.Random, position: Callable[[], int]) -> str:
    flips = []
    for _ in range(rng.randint(1, 4)):
        offset, bit = position(), rng.randrange(8)
        data[offset] ^= 1 << bit
        flips.append(f"{offset}:{bit}")
    return "bits " + ",".join(flips)


def _overwrite(data: bytearray, rng: random.Random, position: Callable[[], int]) -> str:
    offset = position()
    length = min(rng.randint(1, 16), len(data) - offset)
    fill = rng.random()
    if fill < 0.2:
        chunk, what = b"\x00" * length, "0x00"
    elif fill < 0.4:
        chunk, what = b"\xff" * length, "0xff"
    else:
        chunk, what = bytes(rng.randrange(256) for _ in range(length)), "random"
    data[offset:offset + length] = chunk
    return f"{length} {what} bytes at {offset}"


def _interesting_word(data: bytearray, rng: random.Random, start: int, end: int, layout: Layout) -> str:
    """Sets an aligned u32 (or u16) in [start, end) to an interesting value or nudges it."""
    width = 2 if rng.random() < 0.25 else 4
    first = start + (-start % width)
    if end - first < width:
        return _overwrite(data, rng, lambda: rng.randrange(start, max(start + 1, end)))
    offset = first + width * rng.randrange((end - first) // width)
    fmt, mask = ("<H", 0xFFFF) if width == 2 else ("<I", 0xFFFFFFFF)
    old = struct.unpack_from(fmt, data, offset)[0]
    choice = rng.random()
    if choice < 0.25:
        value = (old + rng.choice((-16, -8, -4, -2, -1, 1, 2, 4, 8, 16))) & mask
    elif choice < 0.45:
        near = (layout.size, layout.size - 1, layout.size + 1, layout.size - 4, layout.size * 2, layout.size // 2,
                layout.flatbuffer_end, layout.flatbuffer_end + 4, layout.segment_base, layout.segment_base + 1)
        value = rng.choice(near) & mask
    else:
        value = rng.choice(INTERESTING_16 if width == 2 else INTERESTING_32)
    struct.pack_into(fmt, data, offset, value)
    return f"u{width * 8} at {offset}: {old:#x} -> {value:#x}"


def _header_field(data: bytearray, rng: random.Random, layout: Layout) -> str:
    """Sets one u64 of the extended header (program_size, segment_base_offset, segment_data_size)."""
    offset, name = rng.choice(((16, "program_size"), (24, "segment_base_offset"), (32, "segment_data_size")))
    old = struct.unpack_from("<Q", data, offset)[0]
    near = (layout.size, layout.size - 1, layout.size + 1, old + 1, old - 1, old + 8, old - 8, old * 2,
            layout.flatbuffer_end - 1, layout.segment_base + layout.size)
    value = rng.choice(near + INTERESTING_64) % 2**64
    struct.pack_into("<Q", data, offset, value)
    return f"header {name}: {old} -> {value}"


def _truncate(data: bytes, rng: random.Random, layout: Layout) -> tuple[bytes, str]:
    choice = rng.random()
    if choice < 0.5:
        length = rng.randrange(min(layout.size, layout.flatbuffer_end + 256))
    elif choice < 0.75:
        length = rng.randrange(layout.size)
    else:
        edges = [0, 1, 4, 7, 8, 12, 16, 24, 31, 32, 39, 40, layout.flatbuffer_end - 1, layout.flatbuffer_end,
                 layout.segment_base - 1, layout.segment_base, layout.segment_base + 1, layout.size - 1]
        for start, end in layout.segments:
            edges += [start + 1, end - 1, end]
        length = rng.choice([edge for edge in edges if 0 <= edge < layout.size])
    return data[:length], f"truncated to {length} of {layout.size} bytes"


def mutate_bytes(seed: Seed, kind: str, rng: random.Random) -> tuple[bytes, str]:
    """A byte-level mutation of ``kind`` (every kind but ``serializer``) and its note."""
    layout = seed.layout
    if kind == "truncate":
        return _truncate(seed.data, rng, layout)
    data = bytearray(seed.data)
    if kind in ("bitflip", "overwrite"):
        operation = _bitflip if kind == "bitflip" else _overwrite
        note = operation(data, rng, lambda: _flatbuffer_position(rng, layout))
    elif kind == "flatbuffer-targeted":
        if layout.has_header and rng.random() < 0.15:
            note = _header_field(data, rng, layout)
        else:
            note = _interesting_word(data, rng, 0, layout.flatbuffer_end, layout)
    elif kind == "segment-targeted":
        start, end = _segment_span(rng, layout)
        head = min(end, start + 64)
        position = (lambda: rng.randrange(start, head)) if rng.random() < 0.5 else (lambda: rng.randrange(start, end))
        choice = rng.random()
        if choice < 0.35:
            note = _bitflip(data, rng, position)
        elif choice < 0.65:
            note = _overwrite(data, rng, position)
        else:
            note = _interesting_word(data, rng, start, head if rng.random() < 0.5 else end, layout)
        note = f"segment [{start}, {end}): {note}"
    else:
        raise FuzzError(f"unknown mutation kind '{kind}'; use one of: {', '.join(KINDS)}")
    return bytes(data), note


# Serializer edits. A Program is walked into "slots": places holding an int,
# an enum, a string or a list, each with a path for the note.

@dataclasses.dataclass(frozen=True)
class Slot:
    path: str
    owner: Any  # the dataclass or list holding the value
    key: Any  # the attribute name or list index
    value: Any


SKIPPED_FIELDS = {"stacktrace", "container_meta_type", "storage", "data", "constant_buffer", "backend_delegate_data",
                  "requires_grad", "layout"}
"""Fields never edited: debug info, raw bytes, and flags the runtime ignores."""


def program_slots(node: Any, path: str = "program") -> Iterator[Slot]:
    """Every editable place of a Program dataclass tree."""
    if dataclasses.is_dataclass(node):
        for field in dataclasses.fields(node):
            if field.name in SKIPPED_FIELDS:
                continue
            value = getattr(node, field.name)
            child = f"{path}.{field.name}"
            if isinstance(value, (int, str)) and not isinstance(value, bool):
                yield Slot(child, node, field.name, value)
            elif isinstance(value, list):
                yield Slot(child, node, field.name, value)
                for index, item in enumerate(value):
                    if isinstance(item, (int, str)) and not isinstance(item, bool):
                        yield Slot(f"{child}[{index}]", value, index, item)
                    else:
                        yield from program_slots(item, f"{child}[{index}]")
            elif dataclasses.is_dataclass(value):
                if field.name == "val":  # an EValue's payload: may be swapped for another kind
                    yield Slot(child, node, field.name, value)
                yield from program_slots(value, child)


def _other_evalue(rng: random.Random, plan_values: int) -> Any:
    """An EValue payload of some kind, for replacing one of another kind."""
    from executorch.exir import schema

    return rng.choice((
        lambda: schema.Int(rng.choice((0, 1, -1, 2**40))),
        lambda: schema.Null(),
        lambda: schema.Bool(True),
        lambda: schema.Double(1.5),
        lambda: schema.IntList([0, plan_values]),
        lambda: schema.TensorList([0, plan_values + 3]),
        lambda: schema.OptionalTensorList([-1, plan_values]),
        lambda: schema.String("fuzz"),
        lambda: schema.DoubleList([0.5]),
        lambda: schema.BoolList([True, False]),
    ))()


def _edit_slot(slot: Slot, rng: random.Random, plan_values: int) -> str:
    """Changes the program at ``slot`` in place; returns the note."""
    value = slot.value

    def assign(new: Any) -> None:
        if isinstance(slot.owner, list):
            slot.owner[slot.key] = new
        else:
            setattr(slot.owner, slot.key, new)

    if isinstance(value, list):
        if not value or rng.random() < 0.6:
            if not value:
                return ""
            index = rng.randrange(len(value))
            del value[index]
            return f"{slot.path}: dropped element {index} of {len(value) + 1}"
        index = rng.randrange(len(value))
        value.insert(index, copy.deepcopy(value[index]))
        return f"{slot.path}: duplicated element {index}"
    if isinstance(value, str):
        new = rng.choice(("", "fuzz::no_such_name", value + "_x", value[: len(value) // 2], "\u00e9" * 3))
        assign(new)
        return f"{slot.path}: {value!r} -> {new!r}"
    if dataclasses.is_dataclass(value):
        new = _other_evalue(rng, plan_values)
        assign(new)
        return f"{slot.path}: {type(value).__name__} -> {type(new).__name__}{dataclasses.asdict(new)}"
    if isinstance(value, int) and type(value) is not int:  # an IntEnum (ScalarType, dynamism, location, ...)
        new = rng.choice((value + 1, 7, 16, 27, 99, 127, -1))
        assign(new)
        return f"{slot.path}: {value!r} -> {new}"
    new = rng.choice(INTERESTING_INTS + (value + 1, value - 1, value * 2 + 1, plan_values, plan_values + 1, 0, 1))
    assign(new)
    return f"{slot.path}: {value} -> {new}"


def serializer_edit(seed: Seed, rng: random.Random, attempts: int = 12) -> tuple[bytes, str]:
    """One semantic edit of the seed's Program, re-encoded by ExecuTorch's
    serializer. An edit the serializer refuses (a value too wide for its field)
    is drawn again; after ``attempts`` the case falls back to a flatbuffer edit."""
    from executorch.exir._serialize._program import PTEFile, serialize_pte_binary

    for _ in range(attempts):
        program = copy.deepcopy(seed.pte.program)
        # A field is drawn first, then one place holding it: else the many
        # tensor values would take nearly every edit from the instructions.
        groups: dict[str, list[Slot]] = {}
        for candidate in program_slots(program):
            groups.setdefault(re.sub(r"\[\d+\]", "[]", candidate.path), []).append(candidate)
        slot = rng.choice(groups[rng.choice(sorted(groups))])
        plan_values = max(len(plan.values) for plan in program.execution_plan) if program.execution_plan else 0
        note = _edit_slot(slot, rng, plan_values)
        if not note:
            continue
        pte = PTEFile(program=program, mutable_data=seed.pte.mutable_data, named_data=seed.pte.named_data)
        try:
            return bytes(serialize_pte_binary(pte, extract_delegate_segments=True, segment_alignment=128)), note
        except Exception:  # noqa: BLE001 - any refusal of the serializer means "draw another edit"
            continue
    data, note = mutate_bytes(seed, "flatbuffer-targeted", rng)
    return data, f"(serializer refused {attempts} edits) {note}"


def roundtrip(seed: Seed) -> bytes:
    """The seed decoded and encoded again unchanged: the control for serializer cases."""
    from executorch.exir._serialize._program import serialize_pte_binary

    return bytes(serialize_pte_binary(seed.pte, extract_delegate_segments=True, segment_alignment=128))


def case_id(index: int) -> str:
    return f"c{index:05d}"


def make_case(seeds: Mapping[str, Seed], run_seed: int | str, index: int, kinds: Sequence[str] = KINDS) -> Case:
    """Case ``index`` of the run seeded ``run_seed``: the same bytes every time."""
    names = list(seeds)
    model = names[index % len(names)]
    kind = kinds[(index // len(names)) % len(kinds)]
    rng = random.Random(f"{run_seed}/{index}")
    mode = rng.choices([m for m, _ in MODES], weights=[w for _, w in MODES])[0]
    if kind == "serializer":
        data, note = serializer_edit(seeds[model], rng)
    else:
        data, note = mutate_bytes(seeds[model], kind, rng)
    return Case(case_id(index), index, model, kind, mode, note, data)


def control_cases(seeds: Mapping[str, Seed]) -> list[Case]:
    """Each seed as exported and round-tripped through the serializer, in every
    mode: they must run without an error, or the results mean nothing."""
    cases = []
    for model, seed in seeds.items():
        for label, data in (("original", seed.data), ("roundtrip", roundtrip(seed))):
            for mode, _ in MODES:
                cases.append(Case(f"control-{model}-{label}-{mode}", -1, model, "control", mode, label, data))
    return cases


# --------------------------------------------------------------------------- running


@dataclasses.dataclass
class Result:
    """What happened to one case."""

    case: Case
    outcome: str
    errors: int = 0
    detail: str = ""
    signature: str = ""  # the crash class, for crashed and hung cases
    steps: str = ""  # the runner's counts: methods, executed, failed, skipped

    def row(self) -> dict:
        case = self.case
        return {"id": case.id, "model": case.model, "kind": case.kind, "mode": case.mode, "note": case.note,
                "size": case.size, "outcome": self.outcome, "errors": self.errors, "steps": self.steps,
                "detail": self.detail, "signature": self.signature}


@dataclasses.dataclass(frozen=True)
class EngineRun:
    """One engine process over a list of cases, parsed."""

    results: dict[str, dict]  # id -> Result fields: outcome, errors, steps, detail
    started: list[str]
    done: bool
    returncode: int | None  # None: killed by the hang watchdog
    stderr: str
    leaked: bool

    @property
    def unfinished(self) -> str | None:
        """The case the process was running when it died, if any."""
        pending = [case for case in self.started if case not in self.results]
        return pending[-1] if pending else None


CASE_LINE = re.compile(r"^CASE (\S+) (REFUSED|RAN|SILENT) errors=(\d+) (.*?) detail=(.*)$")


def _limit_engine(pid: int, memory_limit_mb: int) -> None:
    """Caps the engine's address space (a corrupt size then fails an allocation
    instead of taking the machine's memory) and disables its core dumps."""
    try:
        if memory_limit_mb > 0:
            limit = memory_limit_mb * 1024 * 1024
            resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))
        resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))
    except (ProcessLookupError, PermissionError, OSError):
        pass  # the process already ended, or the platform refuses: run unlimited


def run_engine(godot: Path, cases: Sequence[tuple[Case, Path]], work: Path, hang_timeout: float,
               memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB, project: Path = PROJECT) -> EngineRun:
    """Runs fuzz_runner.gd over ``cases`` in one engine. A case that runs longer
    than ``hang_timeout`` gets the process killed (returncode None)."""
    work.mkdir(parents=True, exist_ok=True)
    listing = work / "cases.tsv"
    listing.write_text("".join(f"{case.id}\t{path}\t{case.mode}\n" for case, path in cases), encoding="utf-8")
    out_path, err_path = work / "stdout.txt", work / "stderr.txt"
    command = [str(godot), "--headless", "--path", str(project), "--script", RUNNER, "--", str(listing)]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=work)
        _limit_engine(process.pid, memory_limit_mb)
        returncode = _watch(process, out_path, hang_timeout)
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    results, started, done = {}, [], False
    for line in stdout.splitlines():
        if line.startswith("FUZZ START "):
            started.append(line[len("FUZZ START "):].strip())
        elif line.startswith("FUZZ BATCH DONE "):
            done = True
        elif match := CASE_LINE.match(line):
            results[match[1]] = {"outcome": match[2].lower(), "errors": int(match[3]), "steps": match[4],
                                 "detail": match[5]}
    if not started and returncode is not None and returncode >= 0 and cases:
        raise FuzzError(f"the engine ran no case (exit {returncode}); is {RUNNER} in {project}?\n"
                        f"{stdout[-2000:]}\n{stderr[-3000:]}")
    leaked = any(marker in stdout + stderr for marker in LEAK_MARKERS)
    return EngineRun(results, started, done, returncode, stderr, leaked)


def _watch(process: subprocess.Popen, out_path: Path, hang_timeout: float) -> int | None:
    """Waits for the engine, killing it when one case has run longer than
    ``hang_timeout`` (measured from its start marker); its exit code, or None."""
    seen, last_progress = 0, time.monotonic()
    while True:
        try:
            return process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
        size = out_path.stat().st_size
        if size != seen:
            seen, last_progress = size, time.monotonic()
        elif time.monotonic() - last_progress > hang_timeout:
            process.kill()
            process.wait()
            return None


def crash_signature(returncode: int | None, stderr: str) -> str:
    """A short name for how the engine died, the same for the same bug:
    the assert, the uncaught exception or the first named frame of the signal."""
    if returncode is None:
        return "hang"
    signal_name = _signal_name(returncode, stderr)
    exception = re.search(r"terminate called after throwing an instance of '([^']+)'", stderr)
    if exception:
        return f"{signal_name}: uncaught {exception[1]}"
    asserts = re.findall(r"In function (\w+)\(\), assert failed(?: \((.*?)\))?:", stderr)
    if asserts:
        function, condition = asserts[-1]
        return f"{signal_name}: assert in {function}()" + (f" ({_normalise(condition)})" if condition else "")
    frame = _first_named_frame(stderr)
    if frame == "a bad address":
        return f"{signal_name} jumping to a bad address"
    if frame:
        return f"{signal_name} in {frame}"
    # Godot's crash handler prints no backtrace for a fault in a thread it did
    # not start (ExecuTorch's thread pool) or when it cannot run at all; the
    # last error before the crash then tells crashes apart.
    errors = re.findall(r"^ERROR: (?:ExecuTorch: )?(.*)$", stderr, re.MULTILINE)
    return f"{signal_name} (no backtrace)" + (f" after \"{_normalise(errors[-1])}\"" if errors else "")


def _signal_name(returncode: int, stderr: str) -> str:
    handled = re.search(r"Program crashed with signal (\d+)", stderr)
    number = int(handled[1]) if handled else (-returncode if returncode < 0 else 0)
    if number == 0:
        return f"exit {returncode}"
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _first_named_frame(stderr: str) -> str:
    """The first frame of Godot's C++ backtrace, after the signal handler's,
    that names a function ("a bad address" when the program jumped to one)."""
    in_backtrace = False
    for line in stderr.splitlines():
        if "Dumping the backtrace" in line:
            in_backtrace = True
            continue
        if "END OF C++ BACKTRACE" in line:
            break
        match = re.match(r"\[(\d+)\] (.*)$", line.strip())
        if not in_backtrace or not match or int(match[1]) < 2:
            continue
        text = match[2]
        if text.startswith("[0x"):
            return "a bad address"
        named = re.search(r"\(([A-Za-z_][\w:.]*)\+0x", text)  # lib.so(symbol+0x12)
        if named:
            return named[1]
        if not text.startswith("/"):  # a demangled C++ name: drop the arguments
            return re.sub(r"\(.*$", "", text).strip()
    return ""


def _normalise(text: str) -> str:
    """A message without its numbers and file names, so that one bug is one class."""
    return re.sub(r"\d+", "N", re.sub(r"'[^']*\.pte'", "'<file>'", text))[:120]


def _tail(stderr: str, lines: int = 6) -> str:
    """The last error lines before a crash, without the backtrace, for the report."""
    noise = re.compile(r"\s*(\[\d+\]|at:|GDScript backtrace|-- |=+$|Dumping|Engine version)")
    kept = [line for line in stderr.splitlines() if line.strip() and not noise.match(line)]
    return " | ".join(kept[-lines:])[-600:]


class Runner:
    """Runs cases through the engine in batches and resolves every case to an outcome."""

    def __init__(self, godot: Path, work: Path, hang_timeout: float = DEFAULT_HANG_TIMEOUT,
                 memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB) -> None:
        self.godot = godot
        self.work = work
        self.hang_timeout = hang_timeout
        self.memory_limit_mb = memory_limit_mb
        self.leaky_batches: list[str] = []
        prepare_project(PROJECT)

    def run(self, name: str, cases: Sequence[Case]) -> list[Result]:
        """Writes ``cases`` under work/name, runs them and deletes the files.
        Only the findings keep their bytes (Result.case.data): a long run over a
        5 MB model would otherwise hold gigabytes."""
        directory = self.work / name
        directory.mkdir(parents=True, exist_ok=True)
        files = []
        for case in cases:
            path = directory / f"{case.id}.pte"
            path.write_bytes(case.data)
            files.append((case, path))
        try:
            results = self._resolve(files, directory, solo=len(files) == 1)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        for result in results.values():
            if result.outcome not in FINDINGS:
                result.case = dataclasses.replace(result.case, data=b"")
        return [results[case.id] for case in cases]

    def _resolve(self, files: list[tuple[Case, Path]], directory: Path, solo: bool) -> dict[str, Result]:
        run = run_engine(self.godot, files, directory / ("solo" if solo else "batch"), self.hang_timeout,
                         self.memory_limit_mb)
        if run.leaked and run.done:
            self.leaky_batches.append(", ".join(case.id for case, _ in files))
        results = {case.id: Result(case, **run.results[case.id]) for case, _ in files if case.id in run.results}
        clean = run.done and run.returncode == 0
        if clean and len(results) == len(files):
            return results
        if solo:
            case = files[0][0]
            outcome = "hung" if run.returncode is None else "crashed"
            finished = f"after {results[case.id].outcome.upper()}, " if case.id in results else ""
            return {case.id: Result(case, outcome, detail=finished + _tail(run.stderr),
                                    signature=crash_signature(run.returncode, run.stderr))}
        if clean or run.unfinished is None:
            # Every started case reported, yet the process died (at exit, or
            # between cases): find the culprit case by case.
            for entry in files:
                results.update(self._resolve([entry], directory / entry[0].id, solo=True))
            return results
        position = next(i for i, (case, _) in enumerate(files) if case.id == run.unfinished)
        suspect = files[position]
        alone = self._resolve([suspect], directory / suspect[0].id, solo=True)[suspect[0].id]
        if alone.outcome not in ("crashed", "hung"):
            # Still a finding: an earlier case corrupted the process, or the
            # fault depends on the memory layout (a read past a mapping).
            before = ", ".join(case.id for case, _ in files[:position])
            died = "hung" if run.returncode is None else "crashed"
            context = f"after {before} in its batch" if before else "first in its batch"
            alone = Result(suspect[0], died, alone.errors,
                           f"{died} {context}, {alone.outcome} when run alone (flaky). " + _tail(run.stderr),
                           crash_signature(run.returncode, run.stderr))
        results[suspect[0].id] = alone
        rest = files[position + 1:]
        if rest:
            results.update(self._resolve(rest, directory / f"after-{suspect[0].id}", solo=len(rest) == 1))
        return results


# --------------------------------------------------------------------------- a run


@dataclasses.dataclass
class Report:
    """Everything a fuzz run found."""

    seed: int | str
    models: list[str]
    results: list[Result] = dataclasses.field(repr=False)
    controls: list[Result] = dataclasses.field(repr=False)
    leaky_batches: list[str]
    seconds: float

    def count(self, outcome: str) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    def findings(self, *outcomes: str) -> list[Result]:
        wanted = outcomes or FINDINGS
        return [result for result in self.results + self.controls if result.outcome in wanted]

    def table(self) -> dict[tuple[str, str], Counter]:
        cells: dict[tuple[str, str], Counter] = {}
        for result in self.results:
            cells.setdefault((result.case.model, result.case.kind), Counter())[result.outcome] += 1
        return cells

    def to_json(self) -> dict:
        return {"seed": self.seed, "models": self.models, "seconds": round(self.seconds, 1),
                "totals": {outcome: self.count(outcome) for outcome in OUTCOMES},
                "crash_classes": dict(Counter(r.signature for r in self.findings("crashed", "hung")).most_common()),
                "leaky_batches": self.leaky_batches,
                "controls": [r.row() for r in self.controls], "results": [r.row() for r in self.results]}


def format_report(report: Report) -> str:
    """The outcome table per model and mutation kind, then every finding."""
    lines = []
    header = f"{'model':<14} {'kind':<20}" + "".join(f"{outcome:>9}" for outcome in OUTCOMES) + f"{'total':>9}"
    lines += [header, "-" * len(header)]
    cells = report.table()
    order = {name: i for i, name in enumerate([*report.models, *KINDS])}
    totals: Counter = Counter()
    def place(key: tuple[str, str]) -> tuple:
        return order.get(key[0], len(order)), order.get(key[1], len(order)), key

    for model, kind in sorted(cells, key=place):
        cell = cells[(model, kind)]
        totals.update(cell)
        lines.append(f"{model:<14} {kind:<20}" + "".join(f"{cell[o]:>9}" for o in OUTCOMES)
                     + f"{sum(cell.values()):>9}")
    lines.append("-" * len(header))
    lines.append(f"{'all':<14} {'':<20}" + "".join(f"{totals[o]:>9}" for o in OUTCOMES) + f"{sum(totals.values()):>9}")
    lines.append(f"{len(report.results)} cases in {report.seconds:.0f} s")
    bad_controls = [r for r in report.controls if r.outcome != "ran" or r.errors]
    if bad_controls:
        lines.append("controls that did not run cleanly (the seeds or the harness are broken):")
        lines += [f"  {r.case.id}: {r.outcome} errors={r.errors} {r.detail}" for r in bad_controls]
    crashes = report.findings("crashed", "hung")
    if crashes:
        lines.append(f"\ncrash classes ({len(crashes)} cases):")
        for signature, count in Counter(r.signature for r in crashes).most_common():
            examples = [r for r in crashes if r.signature == signature]
            ids = ", ".join(f"{r.case.id} ({r.case.model}, {r.case.kind}, {r.case.mode})" for r in examples[:3])
            lines.append(f"  {count:>4}  {signature}\n        e.g. {ids}")
    for outcome in FINDINGS:
        found = report.findings(outcome)
        if not found:
            continue
        lines.append(f"\n{outcome} ({len(found)}):")
        for r in found:
            lines.append(f"  {r.case.id} {r.case.model} {r.case.kind} mode={r.case.mode}: {r.case.note}")
            if r.detail:
                lines.append(f"      -> {r.detail[:400]}")
    if report.leaky_batches:
        lines.append(f"\nbatches that leaked at exit ({len(report.leaky_batches)}): "
                     + "; ".join(b[:80] for b in report.leaky_batches[:5]))
    return "\n".join(lines)


def keep_findings(report: Report, directory: Path) -> None:
    """Copies every crashing, hanging or silent program to ``directory`` with an index."""
    directory.mkdir(parents=True, exist_ok=True)
    index = []
    for result in report.findings():
        case = result.case
        name = f"{case.id}-{case.model}-{case.kind}.pte"
        (directory / name).write_bytes(case.data)
        index.append(f"{name}\t{result.outcome}\t{case.mode}\t{result.signature}\t{case.note}\t{result.detail[:300]}")
    (directory / "index.tsv").write_text("file\toutcome\tmode\tsignature\tmutation\tdetail\n" + "\n".join(index) + "\n",
                                         encoding="utf-8")


def run_fuzz(godot: Path, seeds: Mapping[str, Seed], cases: int, run_seed: int | str, work: Path, *,
             batch: int = 100, jobs: int = 2, hang_timeout: float = DEFAULT_HANG_TIMEOUT,
             memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB, kinds: Sequence[str] = KINDS,
             extra: Sequence[Case] = (), progress: Callable[[str], None] | None = None) -> Report:
    """Generates ``cases`` mutated programs and runs them, ``batch`` per engine
    and ``jobs`` engines at a time, after the control cases; ``extra`` cases
    (such as known crashers) run in their own batch."""
    if not Path(godot).is_file():
        raise FuzzError(f"no engine at {godot}; build it first: .venv/bin/scons platform=linuxbsd")
    started = time.perf_counter()
    runner = Runner(Path(godot), work, hang_timeout, memory_limit_mb)
    controls = runner.run("controls", control_cases(seeds))
    broken = [r for r in controls if r.outcome != "ran" or r.errors]
    if any(r.case.note == "original" for r in broken):
        raise FuzzError("an unmutated seed does not run cleanly, so no result would mean anything:\n"
                        + "\n".join(f"  {r.case.id}: {r.outcome} errors={r.errors} {r.detail}" for r in broken))
    batches: list[Callable[[], list[Result]]] = []
    for first in range(0, cases, batch):
        indices = range(first, min(cases, first + batch))
        batches.append(lambda indices=indices: runner.run(
            f"b{indices[0]:06d}", [make_case(seeds, run_seed, i, kinds) for i in indices]))
    if extra:
        batches.append(lambda: runner.run("extra", list(extra)))
    results: list[Result] = []
    total = cases + len(extra)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in as_completed([pool.submit(task) for task in batches]):
            results.extend(future.result())
            if progress:
                counts = Counter(r.outcome for r in results)
                rate = len(results) / max(1e-6, time.perf_counter() - started)
                progress(f"[{len(results):>{len(str(total))}}/{total}] {rate:5.1f} cases/s, "
                         f"{(total - len(results)) / max(rate, 1e-6):4.0f} s left  "
                         + "  ".join(f"{o}={counts[o]}" for o in OUTCOMES))
    results.sort(key=lambda r: (r.case.index < 0, r.case.index, r.case.id))
    return Report(run_seed, list(seeds), results, controls, runner.leaky_batches, time.perf_counter() - started)


def file_cases(paths: Iterable[Path], modes: Sequence[str] = ("all", "resource")) -> list[Case]:
    """Cases for existing .pte files (known crashers), each in ``modes``: `all`
    (load_from_file, then ExecuTorchRuntime) and `resource` (ResourceLoader).
    They are tabled as model "file", kind = their folder's name."""
    cases = []
    for path in sorted(paths):
        for mode in modes:
            cases.append(Case(f"{path.stem}-{mode}", -1, "file", path.parent.name, mode, str(path), path.read_bytes()))
    return cases


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.fuzz_pte", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000, help="number of mutated programs (default 1000)")
    parser.add_argument("--seed", default="1", help="run seed: the same seed makes the same cases (default 1)")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help=f"comma-separated seed models (default {','.join(DEFAULT_MODELS)})")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"mutation kinds (default all: {','.join(KINDS)})")
    parser.add_argument("--godot", type=Path, default=DEFAULT_ENGINE, help=f"engine binary (default {DEFAULT_ENGINE})")
    parser.add_argument("--batch", type=int, default=100, help="cases per engine process (default 100)")
    parser.add_argument("--jobs", type=int, default=2, help="engine processes at a time (default 2)")
    parser.add_argument("--hang-timeout", type=float, default=DEFAULT_HANG_TIMEOUT,
                        help=f"seconds one case may take before it counts as hung (default {DEFAULT_HANG_TIMEOUT:g})")
    parser.add_argument("--memory-limit-mb", type=int, default=DEFAULT_MEMORY_LIMIT_MB,
                        help=f"address-space limit per engine, 0 for none (default {DEFAULT_MEMORY_LIMIT_MB})")
    parser.add_argument("--seed-dir", type=Path, help="export the seed models here, reusing files already there")
    parser.add_argument("--extra", type=Path, action="append", default=[],
                        help="also run these .pte files or every .pte in these folders (e.g. known crashers)")
    parser.add_argument("--keep-crashers", type=Path, help="copy crashing, hanging and silent programs here")
    parser.add_argument("--json", type=Path, help="write the full report (every case) as JSON here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import model_tools  # noqa: F401  (first: keeps `executorch` to the installed package, not the repository's executorch/)
    models = [name.strip() for name in args.models.split(",") if name.strip()]
    kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise SystemExit(f"unknown mutation kind(s) {', '.join(unknown)}; use some of: {', '.join(KINDS)}")
    extra_files = [p for e in args.extra for p in (sorted(e.glob("*.pte")) if e.is_dir() else [e])]
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    try:
        with tempfile.TemporaryDirectory(prefix="fuzz_pte.") as temp:
            work = Path(temp)
            seeds = export_seeds(args.seed_dir or work / "seeds", models, reuse=args.seed_dir is not None, log=log)
            report = run_fuzz(args.godot, seeds, args.cases, args.seed, work / "cases", batch=args.batch,
                              jobs=args.jobs, hang_timeout=args.hang_timeout, memory_limit_mb=args.memory_limit_mb,
                              kinds=kinds, extra=file_cases(extra_files), progress=log)
    except FuzzError as error:
        raise SystemExit(f"fuzz_pte: {error}") from None
    print(format_report(report))
    if args.keep_crashers:
        keep_findings(report, args.keep_crashers)
        print(f"\nkept {len(report.findings())} programs in {args.keep_crashers} (index.tsv says what each is)")
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=1), encoding="utf-8")
    return 1 if report.findings() else 0


if __name__ == "__main__":
    sys.exit(main())
