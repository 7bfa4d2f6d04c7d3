"""The offline API server's refusals, worded as the real one words them. In a module of their
own so the store, admission and the controllers can all raise them without importing each
other."""
from __future__ import annotations

from typing import Sequence


class ApplyError(ValueError):
    """The API server refused something; nothing was applied. `problems` holds one message
    per refusal, worded like the API server's; `kind`/`name` say which object (if known)."""

    def __init__(self, problems: Sequence[str], kind: str | None = None, name: str | None = None) -> None:
        self.problems = list(problems)
        self.kind, self.name = kind, name
        super().__init__("\n".join(self.problems))


class NotFound(LookupError):
    """kubectl's `Error from server (NotFound): services "x" not found`."""


class NotModelled(NotImplementedError):
    """A request needs behaviour the offline model does not implement (a request timeout, a
    CORS filter...): said plainly instead of answering as if the field did nothing."""
