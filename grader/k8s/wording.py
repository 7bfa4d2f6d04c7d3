"""Small wording helpers shared by the CLI, the cluster tools and the backends."""
from __future__ import annotations


def first_line(exc: BaseException | str) -> str:
    """The first line of an error's message (or of a text; surrounding blank space dropped),
    or its type's name when the message is empty: enough to say what went wrong on one line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def a_kind(kind: str) -> str:
    """A kind with its article, as a sentence names one object of it: "a Service",
    "an Ingress", "an EndpointSlice", "an Endpoints object" (a kind whose name is plural
    reads as one object of it)."""
    article = "an" if kind[:1].upper() in "AEIOU" else "a"
    return f"{article} {kind} object" if kind in PLURAL_KINDS else f"{article} {kind}"


#: Kinds whose singular name is a plural word.
PLURAL_KINDS = frozenset({"Endpoints"})
