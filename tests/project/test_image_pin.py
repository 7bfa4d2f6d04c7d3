"""One agnhost pin: grader.kind.images.AGNHOST_IMAGE is the image `svclab cluster up` preloads
into the kind node, so a workload naming any other tag would pull (or fail to pull) on a
classroom network. Python code builds the reference from the constant; notebooks and
solutions that show YAML to the learner write the pin itself, and it must be that one."""
from __future__ import annotations

import re
from pathlib import Path

from grader.kind.images import AGNHOST_IMAGE
from grader.labs.workloads import netexec_pod, netexec_workload, pause_pod

REPO = Path(__file__).resolve().parents[2]
SCANNED = ("course", "labs", "solutions", "tests", "bench", "grader")
SUFFIXES = {".py", ".ipynb", ".md", ".yaml", ".yml", ".json", ".txt"}
#: An image reference to agnhost: a registry path ending in /agnhost with a tag or digest.
AGNHOST_REF = re.compile(r"[\w.-]+(?:/[\w.-]+)*/agnhost[:@][\w.:-]+")
#: The one file that spells the pin out in Python.
DEFINED_IN = Path("grader/kind/images.py")


def _files() -> list[Path]:
    out = []
    for top in SCANNED:
        for path in sorted((REPO / top).rglob("*")):
            parts = set(path.relative_to(REPO).parts)
            if path.is_file() and path.suffix in SUFFIXES and not parts & {"__pycache__", ".ipynb_checkpoints",
                                                                           "release", "submitted", "autograded",
                                                                           "feedback", "vendor"}:
                out.append(path)
    return out


def test_every_agnhost_reference_is_the_one_pin() -> None:
    wrong = []
    for path in _files():
        for ref in AGNHOST_REF.findall(path.read_text(encoding="utf-8", errors="replace")):
            if ref != AGNHOST_IMAGE:
                wrong.append(f"{path.relative_to(REPO)}: {ref}")
    assert wrong == [], f"use {AGNHOST_IMAGE} (grader.kind.images.AGNHOST_IMAGE)"


def test_python_builds_the_reference_from_the_constant() -> None:
    spelled = [str(p.relative_to(REPO)) for p in _files()
               if p.suffix == ".py" and p.relative_to(REPO) != DEFINED_IN
               and AGNHOST_IMAGE in p.read_text(encoding="utf-8")]
    assert spelled == [], "import AGNHOST_IMAGE from grader.kind.images (or build with grader.labs.workloads)"


def test_the_scan_would_see_a_stray_tag() -> None:
    stray = "registry.k8s.io/e2e-test-images/" + "agnhost:2.40"      # split, or this file would hold it
    text = f"image: {stray}\n  containers: [{{name: c, image: {AGNHOST_IMAGE}}}]\n"
    assert AGNHOST_REF.findall(text) == [stray, AGNHOST_IMAGE]


def test_the_builders_write_the_pin_and_serve_what_they_declare() -> None:
    import yaml

    dep = yaml.safe_load(netexec_workload("api", {"app": "api", "tier": "x"}, replicas=2, udp_port=8081))
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == AGNHOST_IMAGE
    assert container["args"] == ["netexec", "--http-port=8080", "--udp-port=8081"]
    assert dep["spec"]["selector"] == {"matchLabels": {"app": "api"}}
    assert dep["spec"]["template"]["metadata"]["labels"] == {"app": "api", "tier": "x"}
    pod = yaml.safe_load(netexec_pod("db", {"app": "db"}, [5432, 8080]))
    assert [(c["name"], c["args"][1], c["ports"]) for c in pod["spec"]["containers"]] == [
        ("c5432", "--http-port=5432", [{"containerPort": 5432}]),
        ("c8080", "--http-port=8080", [{"containerPort": 8080}])]
    client = yaml.safe_load(pause_pod("client", {"app": "client", "version": "1"}))
    assert client["metadata"]["labels"] == {"app": "client", "version": "1"}     # "1" stays a string
    assert client["spec"]["containers"] == [{"name": "shell", "image": AGNHOST_IMAGE, "args": ["pause"]}]
