"""grader.forkmap: chunks of work in forked children, results in order, failures not lost."""
from __future__ import annotations

import os

import pytest

from grader.forkmap import fork_map, split


def test_split_keeps_order_and_every_item() -> None:
    items = list(range(10))
    parts = split(items, 3)
    assert [list(p) for p in parts] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert split(items[:2], 5) == [[0], [1]]          # never an empty chunk
    assert split([], 4) == [[]]


def test_results_come_back_in_chunk_order_from_other_processes() -> None:
    parent = os.getpid()
    out = fork_map(lambda chunk: (list(chunk), os.getpid() == parent), split(list(range(9)), 3))
    assert [c for c, _ in out] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert [here for _, here in out] == [True, False, False]


def test_an_exception_in_a_child_is_raised_here() -> None:
    def boom(chunk):
        if 5 in chunk:
            raise ValueError(f"bad chunk {list(chunk)}")
        return len(chunk)

    with pytest.raises(ValueError, match=r"bad chunk \[4, 5\]"):
        fork_map(boom, split(list(range(6)), 3))


def test_a_child_that_dies_has_its_chunk_done_here() -> None:
    parent = os.getpid()

    def fragile(chunk):
        if os.getpid() != parent:
            os._exit(3)                       # dies without sending anything
        return sum(chunk)

    assert fork_map(fragile, split(list(range(6)), 3)) == [1, 5, 9]


def test_the_first_chunk_can_be_made_shorter() -> None:
    items = list(range(500))
    parts = split(items, 2, first=0.75)
    assert [len(p) for p in parts] == [214, 286] and [x for p in parts for x in p] == items
    assert [len(p) for p in split(items[:10], 3, first=0.5)] == [2, 4, 4]
    assert [len(p) for p in split(items[:3], 3, first=0.01)] == [1, 1, 1]   # never empty
