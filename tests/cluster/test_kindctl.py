"""`svclab cluster up` must stop early, fast, and with the fix, when Docker or kind is missing.
Stub `docker`/`kind` scripts on a PATH of their own stand in for the real tools."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from grader import kindctl
from grader.k8s.wording import first_line
from grader.kind import COURSE_NODEPORTS, KIND_CONFIG_PATH, render_kind_config
from grader.kind.images import COURSE_IMAGES, NODE_IMAGE

REPO = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")  # found before the fixture empties PATH


def _stub(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


DOCKER_UP = 'case "$1" in info) echo 29.0.0; exit 0;; esac; exit 0'
DOCKER_DOWN = ('case "$1" in info) echo "Cannot connect to the Docker daemon at '
               'unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1;; esac; exit 0')


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


def _up(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = kindctl.up(say=lambda line: None)
    return rc, capsys.readouterr().err


def test_no_docker_cli(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _up(capsys)
    assert rc != 0
    assert "Docker is not installed" in err and "docs.docker.com" in err


def test_docker_daemon_down(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _stub(path, "docker", DOCKER_DOWN)
    rc, err = _up(capsys)
    assert rc != 0
    assert "daemon is not running" in err and "Cannot connect to the Docker daemon" in err


def test_kind_missing(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _stub(path, "docker", DOCKER_UP)
    rc, err = _up(capsys)
    assert rc != 0
    assert "kind is not installed" in err
    assert "go install sigs.k8s.io/kind@v0." in err and "brew install kind" in err
    assert "not on conda-forge" in err


def test_kind_too_old_mentions_024_and_networkpolicy(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _stub(path, "docker", DOCKER_UP)
    _stub(path, "kind", 'echo "kind v0.23.0 go1.22 linux/amd64"')
    rc, err = _up(capsys)
    assert rc != 0
    assert "0.23.0 is too old" in err and "0.24" in err and "NetworkPolicy" in err


def test_parse_kind_version() -> None:
    assert kindctl.parse_kind_version("kind v0.33.0 go1.25.1 darwin/arm64") == (0, 33, 0)
    assert kindctl.parse_kind_version("kind v0.24.0-alpha+abc go1.22 linux/amd64") == (0, 24, 0)
    assert kindctl.parse_kind_version("garbage") is None


def test_cli_up_without_docker_fails_fast_with_the_install_message(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = dict(os.environ, PATH=str(bin_dir))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "cluster", "up"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=30)
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    assert "Docker is not installed" in proc.stderr and "install Docker" in proc.stderr
    assert elapsed < 5, f"took {elapsed:.1f}s"


def test_status_lists_what_is_missing(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _stub(path, "docker", DOCKER_UP)
    _stub(path, "kind", 'case "$1" in version) echo "kind v0.33.0 go1.25 linux/amd64";; '
                        'get) echo "No kind clusters found." >&2;; esac')
    lines: list[str] = []
    assert kindctl.status(say=lines.append) == kindctl.STATUS_MISSING == 3
    table = "\n".join(lines)
    assert "Docker" in table and "kind" in table and "0.33.0" in table
    assert "cluster" in table and "missing" in table and "make cluster" in table


def test_down_tolerates_a_missing_cluster_and_container(path: Path) -> None:
    log = path.parent / "calls.log"
    _stub(path, "docker", f'echo "docker $*" >> {log}; echo "Error: No such container" >&2; exit 1')
    _stub(path, "kind", f'echo "kind $*" >> {log}; echo "Deleting cluster \\"svclab\\" ..." >&2; exit 0')
    assert kindctl.down(say=lambda line: None) == 0
    calls = log.read_text().splitlines()
    assert "kind delete cluster --name svclab" in calls
    assert "docker rm -f svclab-cloud-provider" in calls


def test_cloud_provider_runs_on_the_kind_network_with_the_socket_and_a_pinned_tag() -> None:
    cmd = kindctl.cloud_provider_command("Linux")
    assert cmd[:3] == ["docker", "run", "-d"]
    assert "--network" in cmd and cmd[cmd.index("--network") + 1] == "kind"
    assert "/var/run/docker.sock:/var/run/docker.sock" in cmd
    image = next(c for c in cmd if "cloud-provider-kind" in c and ":" in c)
    assert not image.endswith(":latest")
    assert "--enable-lb-port-mapping" not in cmd
    assert kindctl.cloud_provider_command("Darwin")[-1] == "--enable-lb-port-mapping"


def test_committed_kind_config_maps_exactly_the_course_nodeports() -> None:
    text = KIND_CONFIG_PATH.read_text()
    assert text == render_kind_config(), "regenerate kind-config.yaml (see its header)"
    config = yaml.safe_load(text)
    (node,) = config["nodes"]
    assert node["role"] == "control-plane" and node["image"] == NODE_IMAGE
    mappings = node["extraPortMappings"]
    assert [m["containerPort"] for m in mappings] == list(COURSE_NODEPORTS)
    for m in mappings:
        assert m["hostPort"] == m["containerPort"]
        assert m["listenAddress"] == "127.0.0.1" and m["protocol"] == "TCP"


def test_every_image_is_pinned() -> None:
    for image in (*COURSE_IMAGES, NODE_IMAGE, kindctl.CLOUD_PROVIDER_KIND_IMAGE):
        name = image.split("@")[0]
        assert ":" in name.rsplit("/", 1)[-1] and not name.endswith(":latest"), image
    assert "@sha256:" in NODE_IMAGE


def test_kind_cli_calls_match_kinds_flags(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kind invocations, as kind's cobra commands define them (pkg/cmd/kind/...):
    create cluster --name/--config/--image/--wait <duration>; load docker-image IMG --name;
    export kubeconfig --name (so a reused cluster's context exists in this kubeconfig)."""
    log = path.parent / "calls.log"
    _stub(path, "docker", f'echo "docker $*" >> {log}; case "$1" in info) echo 29.0.0;; esac; exit 0')
    _stub(path, "kind", f'echo "kind $*" >> {log}; case "$1" in version) echo "kind v0.33.0 go1.25 linux/amd64";; '
                        f'get) echo svclab;; esac; exit 0')
    monkeypatch.setattr(kindctl, "_answers", lambda context, timeout=5.0: True)
    monkeypatch.setattr(kindctl, "wait_cluster_ready", lambda context, timeout=180, say=print: None)
    assert kindctl.up(say=lambda line: None, load_balancer=False) == 0
    calls = log.read_text().splitlines()
    assert "kind export kubeconfig --name svclab" in calls
    assert f"kind load docker-image {COURSE_IMAGES[0]} --name svclab" in calls

    log.write_text("")
    _stub(path, "kind", f'echo "kind $*" >> {log}; case "$1" in version) echo "kind v0.33.0 go1.25 linux/amd64";; '
                        f'get) echo "No kind clusters found." >&2;; esac; exit 0')
    assert kindctl.up(say=lambda line: None, images=False, load_balancer=False) == 0
    create = next(c for c in log.read_text().splitlines() if c.startswith("kind create"))
    assert create == (f"kind create cluster --name svclab --config {KIND_CONFIG_PATH} "
                      f"--image {NODE_IMAGE} --wait 120s")


def test_image_load_falls_back_to_a_single_platform_archive(path: Path) -> None:
    """kind #3795: with Docker's containerd image store `kind load docker-image` of a
    multi-platform image fails (`ctr: content digest ...: not found`)."""
    log = path.parent / "calls.log"
    _stub(path, "docker", f'echo "docker $*" >> {log}; '
                          'case "$2" in inspect) echo linux/arm64;; esac; exit 0')
    _stub(path, "kind", f'echo "kind $*" >> {log}; case "$2" in docker-image) '
                        'echo "ctr: content digest sha256:abc: not found" >&2; exit 1;; esac; exit 0')
    kindctl.ensure_images("svclab", say=lambda line: None)
    calls = log.read_text().splitlines()
    save = next(c for c in calls if c.startswith("docker image save"))
    assert save.startswith("docker image save --platform linux/arm64 -o ") and save.endswith(COURSE_IMAGES[0])
    archive = save.split(" -o ")[1].split()[0]
    assert f"kind load image-archive {archive} --name svclab" in calls


def test_image_load_failure_says_what_to_do(path: Path) -> None:
    _stub(path, "docker", 'case "$2" in inspect) echo linux/amd64; exit 0;; save) echo "unknown flag: --platform" >&2; exit 125;; esac; exit 0')
    _stub(path, "kind", 'exit 1')
    with pytest.raises(RuntimeError, match="#3795.*Docker to >= 28"):
        kindctl.ensure_images("svclab", say=lambda line: None)


def test_cloud_provider_kind_flag_is_the_cobra_long_flag_after_the_image() -> None:
    """cloud-provider-kind v0.11.1 (cmd/app.go) registers --enable-lb-port-mapping with cobra;
    its image's ENTRYPOINT is the binary, so flags follow the image name."""
    cmd = kindctl.cloud_provider_command("Windows")
    image = cmd.index(kindctl.CLOUD_PROVIDER_KIND_IMAGE)
    assert cmd[image + 1:] == ["--enable-lb-port-mapping"]
    assert kindctl.CLOUD_PROVIDER_KIND_IMAGE.startswith("registry.k8s.io/cloud-provider-kind/cloud-controller-manager:v")


@pytest.mark.parametrize("exc, expected", [
    (RuntimeError("connection refused\nTraceback: ..."), "connection refused"),
    (RuntimeError("\n  Max retries exceeded\nmore"), "Max retries exceeded"),
    (TimeoutError(), "TimeoutError"),
    (ValueError("  \n "), "ValueError"),
])
def test_first_line_of_an_error(exc: BaseException, expected: str) -> None:
    assert first_line(exc) == expected


def test_gc_and_status_report_the_first_line_of_a_failure(
        path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def unreachable(context: str) -> None:
        raise ConnectionError("Max retries exceeded with url: /version\nCaused by NewConnectionError")
    monkeypatch.setattr(kindctl, "_live", unreachable)
    assert kindctl.gc("kind-svclab", say=lambda line: None) == 1
    err = capsys.readouterr().err
    assert err == ("svclab cluster gc: cannot reach context 'kind-svclab' "
                   "(Max retries exceeded with url: /version)\n")

    _stub(path, "docker", DOCKER_UP)
    _stub(path, "kind", 'case "$1" in version) echo "kind v0.33.0 go1.25 linux/amd64";; '
                        'get) echo svclab;; esac')
    rows = {r.item: r for r in kindctl.status_rows()}
    assert rows["cluster"].ok and not rows["API server"].ok
    assert rows["API server"].detail == ("kind-svclab does not answer (Max retries exceeded with url: "
                                         "/version); run `make cluster`")


def test_status_shows_every_install_line_of_a_kind_problem(path: Path) -> None:
    """The kind row used to stop at "...works):" -- the lines that say how were cut off."""
    _stub(path, "docker", DOCKER_UP)
    lines: list[str] = []
    assert kindctl.status(say=lines.append) == kindctl.STATUS_MISSING
    kind_row = next(i for i, line in enumerate(lines) if line.startswith("kind "))
    assert "missing" in lines[kind_row] and "kind is not installed" in lines[kind_row]
    below = lines[kind_row + 1:kind_row + 6]
    assert any("brew install kind" in line for line in below)
    assert any("go install sigs.k8s.io/kind@v0.33.0" in line for line in below)
    assert any("winget install Kubernetes.kind" in line for line in below)
    assert all(line.startswith(" " * 10) for line in below), "install lines sit under the detail column"
    assert lines[-1].startswith("cluster ") and "needs Docker and kind first" in lines[-1]


def test_up_lists_every_missing_prerequisite_at_once(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _up(capsys)
    assert rc == 2
    assert err.startswith("svclab cluster up: 2 prerequisites are missing:\n")
    assert "- Docker is not installed (no `docker` command on PATH); install Docker:" in err
    assert "- kind is not installed (no `kind` command on PATH); install kind v0.33.0" in err
    assert "https://docs.docker.com/engine/install/" in err or "docs.docker.com/desktop" in err
    assert "brew install kind" in err and "go install sigs.k8s.io/kind@v0.33.0" in err


def test_up_with_the_daemon_down_still_says_kind_is_missing(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _stub(path, "docker", DOCKER_DOWN)
    rc, err = _up(capsys)
    assert rc == 2
    assert "Docker is installed but its daemon is not running" in err
    assert "Docker is not installed" not in err
    assert "kind is not installed" in err and "brew install kind" in err


def test_installed_docker_with_a_stopped_daemon_is_not_reported_as_missing(path: Path) -> None:
    _stub(path, "docker", DOCKER_DOWN)
    problem = kindctl.docker_problem()
    assert problem is not None and problem.problem.startswith("Docker is installed but its daemon is not running")
    assert any("systemctl start docker" in line or "Docker Desktop" in line for line in problem.fix)
    (path / "docker").unlink()
    problem = kindctl.docker_problem()
    assert problem is not None and problem.problem.startswith("Docker is not installed")


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_make_cluster_status_reports_without_make_error_noise(path: Path) -> None:
    """`make cluster-status` prints the table and ends cleanly when something is missing."""
    _stub(path, "docker", DOCKER_DOWN)
    stamp = "$(CONDA_PREFIX)/.svclab-setup.stamp" if os.environ.get("CONDA_PREFIX") else ".venv/.setup.stamp"
    proc = subprocess.run(
        [MAKE, "--no-print-directory", "-o", stamp, "cluster-status",
         f"PYTHON={sys.executable}"],
        cwd=REPO, env=dict(os.environ, PATH=str(path)), capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "daemon is not running" in out and "kind is not installed" in out
    assert "Error" not in out and "make:" not in out
