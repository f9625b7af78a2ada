"""User-facing error type.

The CLI turns every :class:`UserError` into one line on stderr and exit code 2,
so a mistyped path or model name never shows a traceback. Real bugs (anything
else) keep their traceback, because that is what is needed to fix them.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the caller can fix: says what is wrong and how to fix it."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem = problem
        self.fix = fix
