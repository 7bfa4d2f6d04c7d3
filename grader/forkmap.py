"""Run one function over a few chunks of work on several cores, results in chunk order.

Why not multiprocessing: importing it (with pickle, socket, threading) and starting a pool
costs more than checking a class's directory of manifests. Checking is CPU-bound pure
Python, so threads do not help either. A forked child, though, starts with everything the
parent has loaded (imported modules, compiled validators): it only has to work. The parent
works on the first chunk itself while children do the rest, then reads their pickled
results back through pipes.

Where os.fork does not exist (Windows) or only one chunk is given, everything runs in this
process. A child that fails with an exception has it re-raised here; a child that dies
without a word has its chunk done again here, so a result is never silently missing.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def split(items: Sequence[T], parts: int, first: float = 1.0) -> list[Sequence[T]]:
    """`items` in `parts` contiguous chunks (none empty), the first `first` times as long
    as each of the others (give the parent's chunk less when it has more to do after),
    the others of nearly equal length."""
    parts = max(1, min(parts, len(items)))
    if parts == 1:
        return [items]
    if first == 1.0:  # equal chunks, the longer ones first
        head = -(-len(items) // parts)
    else:
        head = max(1, min(round(len(items) * first / (first + parts - 1)), len(items) - (parts - 1)))
    out: list[Sequence[T]] = [items[:head]]
    size, extra = divmod(len(items) - head, parts - 1)
    at = head
    for i in range(parts - 1):
        n = size + (i < extra)
        out.append(items[at : at + n])
        at += n
    return out


def fork_map(fn: Callable[[Sequence[T]], R], chunks: Sequence[Sequence[T]]) -> list[R]:
    """[fn(chunk) for chunk in chunks], the chunks after the first in forked children."""
    if len(chunks) <= 1 or not hasattr(os, "fork"):
        return [fn(c) for c in chunks]
    import pickle

    children: list[tuple[int, int]] = []  # (pid, read end of its pipe)
    for chunk in chunks[1:]:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: work, send, leave at once
            os.close(r)
            try:
                try:
                    payload = pickle.dumps((True, fn(chunk)), protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException as exc:  # noqa: BLE001 - handed to the parent
                    payload = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(w, "wb") as fh:
                    fh.write(payload)
            finally:
                os._exit(0)  # no atexit, no flushing the parent's buffers
        os.close(w)
        children.append((pid, r))
    results = [fn(chunks[0])]
    failure: BaseException | None = None
    for (pid, r), chunk in zip(children, chunks[1:], strict=True):
        with os.fdopen(r, "rb") as fh:
            data = fh.read()
        os.waitpid(pid, 0)
        if not data:  # the child died: do its share here
            results.append(fn(chunk))
            continue
        ok, value = pickle.loads(data)
        if not ok and failure is None:
            failure = value
        results.append(value)
    if failure is not None:
        raise failure
    return results
