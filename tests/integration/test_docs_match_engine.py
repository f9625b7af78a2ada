"""The generated class reference (doc_classes/*.xml) describes exactly the API
the engine registered: methods, arguments, defaults, qualifiers, signals and
constants of every exposed class, read back from ClassDB at run time."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.integration.conftest import PROJECT, REPO_ROOT, run_engine

DOCS = REPO_ROOT / "modules" / "executorch" / "doc_classes"


def test_doc_classes_match_classdb(godot_bin: Path):
    documented = {path.stem: ET.parse(path).getroot() for path in sorted(DOCS.glob("*.xml"))}
    assert documented, "no generated doc_classes; run scons first"
    run = run_engine(godot_bin, ["--path", str(PROJECT), "--script", "res://dump_api.gd", "--", *documented])
    line = next((line for line in run.stdout.splitlines() if line.startswith("API ")), None)
    assert line, run.output[-3000:]
    engine = json.loads(line[len("API "):])
    for name, root in documented.items():
        registered = engine[name]
        assert root.get("inherits") == registered["parent"], name
        methods = {m["name"]: m for m in registered["methods"]}
        doc_methods = {m.get("name"): m for m in root.iter("method")}
        assert sorted(doc_methods) == sorted(methods), f"{name}: documented vs registered methods"
        for method_name, doc in doc_methods.items():
            bound = methods[method_name]
            params = doc.findall("param")
            where = f"{name}.{method_name}"
            assert [p.get("name") for p in params] == bound["args"], where
            assert sum(p.get("default") is not None for p in params) == bound["default_count"], where
            qualifiers = (doc.get("qualifiers") or "").split()
            assert ("static" in qualifiers) == bound["static"], where
            assert ("const" in qualifiers) == bound["const"], where
            assert doc.find("description").text.strip(), f"{where} has no description"
        assert sorted(s.get("name") for s in root.iter("signal")) == sorted(registered["signals"]), name
        assert sorted(c.get("name") for c in root.iter("constant")) == sorted(registered["constants"]), name
        assert sorted(m.get("name") for m in root.iter("member")) == sorted(registered["properties"]), name
    assert engine["ExecuTorchMCPServer"]["singleton"], "ExecuTorchMCPServer is an engine singleton"
