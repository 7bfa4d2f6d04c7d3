"""What one kubectl command returns: its stdout, its stderr and its exit code.

Both modes return the same Result, so a notebook cell, a test or a check reads it the same
way whether the real kubectl or the offline model answered.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """stdout and stderr exactly as kubectl writes them; `code` is its exit status."""

    stdout: str = ""
    stderr: str = ""
    code: int = 0
    #: both streams interleaved in the order they were written, when known (offline)
    combined: str | None = None

    @property
    def ok(self) -> bool:
        return self.code == 0

    @property
    def output(self) -> str:
        """Both streams as a terminal shows them: in the order written when known, else
        stderr (kubectl's warnings and errors) before stdout."""
        return self.combined if self.combined is not None else self.stderr + self.stdout

    def __str__(self) -> str:
        return self.output


class KubectlError(Exception):
    """A failure kubectl reports on stderr with a non-zero exit code. `message` is the
    whole stderr text (kubectl's own wording, without the trailing newline)."""

    def __init__(self, message: str, code: int = 1, stdout: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.stdout = stdout

    def result(self) -> Result:
        return Result(stdout=self.stdout, stderr=self.message.rstrip("\n") + "\n", code=self.code)

