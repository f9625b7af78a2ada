"""The one error type the generator raises for bad specs."""

from __future__ import annotations


class SpecError(Exception):
    """A problem in the spec, reported as `file:line: error: message`.

    The message says what is wrong and how to fix it; the CLI prints it and
    exits with status 2 without writing anything.
    """

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: error: {message}")
        self.path = path
        self.line = line
        self.message = message
