"""Small wording helpers shared by the CLI, the cluster tools and the backends."""
from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (surrounding blank space dropped), or its type's
    name when the message is empty: enough to say what went wrong on one line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
