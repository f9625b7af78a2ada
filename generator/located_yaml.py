"""YAML loading that remembers where every mapping, key and list item stood.

PyYAML's plain loaders drop line numbers and silently keep the last of two
duplicate keys; the spec model needs both to report `file:line` errors.
"""

from __future__ import annotations

from typing import Any

import yaml

from generator.errors import SpecError


class LocatedDict(dict):
    """A YAML mapping with the 1-based line of itself and of each key."""

    line: int
    key_lines: dict[str, int]


class LocatedList(list):
    """A YAML sequence with the 1-based line of itself and of each item."""

    line: int
    item_lines: list[int]


def _make_loader(path: str) -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LocatedDict:
        loader.flatten_mapping(node)
        result = LocatedDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise SpecError(path, line, f"mapping key {key!r} must be a string; quote it")
            if key in result:
                raise SpecError(
                    path, line,
                    f"duplicate key '{key}' (first at line {result.key_lines[key]}); remove one of them",
                )
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_lines[key] = line
        return result

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> LocatedList:
        result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def load_located(text: str, path: str) -> Any:
    """Parses `text` (the contents of `path`) into Located containers."""
    try:
        return yaml.load(text, Loader=_make_loader(path))  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        problem = error.problem or str(error)
        raise SpecError(path, line, f"invalid YAML: {problem}; fix the syntax") from error
