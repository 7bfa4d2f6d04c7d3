"""grader.dataclass_cache: dataclasses compiled once, kept across runs, classes unchanged."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from pathlib import Path
from grader.dataclass_cache import enable
print(enable(Path(sys.argv[1])))
import dataclasses
@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int = 2
p = Point(1)
try:
    p.x = 5
    frozen = False
except dataclasses.FrozenInstanceError:
    frozen = True
print(repr(p), p == Point(1, 2), hash(p) == hash(Point(1, 2)), frozen)
"""


def run(cache: Path) -> list[str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(cache)], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return out.stdout.split("\n")[:2]


def test_classes_behave_the_same_and_the_code_is_kept(tmp_path) -> None:
    cache = tmp_path / "sub" / "dc.marshal"
    first, second = run(cache), run(cache)
    assert first[0] == "True"
    assert first[1] == "Point(x=1, y=2) True True True"
    assert first == second
    assert cache.exists() and cache.stat().st_size > 0


def test_a_damaged_cache_is_ignored(tmp_path) -> None:
    cache = tmp_path / "dc.marshal"
    cache.write_bytes(b"not marshal data")
    assert run(cache)[1] == "Point(x=1, y=2) True True True"


def test_the_console_script_gives_the_same_answers_with_a_warm_cache(tmp_path) -> None:
    env = dict(os.environ, SVCLAB_STARTUP_CACHE=str(tmp_path))
    fixture = str(ROOT / "tests" / "fixtures" / "netpol" / "service-port-trap")
    outs = [subprocess.run([sys.executable, "-m", "grader.cli", "matrix", "--ports", "80,8080", fixture],
                           capture_output=True, text=True, env=env, cwd=ROOT) for _ in range(2)]
    assert list(tmp_path.glob("dataclasses-*.marshal"))
    assert outs[0].returncode == outs[1].returncode == 0
    assert outs[0].stdout == outs[1].stdout and "8080/TCP: 3/4 allowed" in outs[0].stdout
