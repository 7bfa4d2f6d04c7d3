"""Lifecycle of the course's kind cluster: `svclab cluster up | down | status | gc`.

Everything here drives the `docker` and `kind` CLIs through subprocess, the way a learner
would by hand, so what it does can be read off the commands it prints. Prerequisites are
checked first with `shutil.which` and short timeouts: on a machine without Docker, `up`
stops in well under a second with the command that fixes it. The kubernetes client is only
reached through grader.cluster.live, and only once a cluster exists.
"""
from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from grader.k8s.wording import first_line
from grader.kind import CLUSTER_NAME, CONTEXT_NAME, COURSE_NODEPORTS, KIND_CONFIG_PATH
from grader.kind.images import (
    CLOUD_PROVIDER_CONTAINER,
    CLOUD_PROVIDER_KIND_IMAGE,
    COURSE_IMAGES,
    KIND_MIN_VERSION,
    KIND_VERSION,
    NODE_IMAGE,
)

#: Seconds allowed for quick checks (`docker info`, `kind version`): a stopped daemon must not
#: make `make cluster` hang.
QUICK = 4.0


class PrerequisiteError(RuntimeError):
    """Something the cluster needs is missing; the message says how to get it."""


@dataclass(frozen=True)
class Result:
    """A finished command: its exit code, stdout and stderr."""

    rc: int
    out: str
    err: str


def run(cmd: Sequence[str], timeout: float | None = QUICK) -> Result:
    """Run a command, capturing output. Missing executable -> 127, timeout -> 124."""
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        return Result(127, "", f"{cmd[0]}: not found")
    except subprocess.TimeoutExpired:
        return Result(124, "", f"`{' '.join(cmd)}` did not answer within {timeout:g}s")
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_visible(cmd: Sequence[str], say: Callable[[str], None]) -> int:
    """Run a long command with its output going straight to the terminal."""
    say(f"$ {' '.join(cmd)}")
    try:
        return subprocess.run(list(cmd)).returncode
    except FileNotFoundError:
        return 127


# --------------------------------------------------------------------------- prerequisites

def docker_install_hint(system: str | None = None) -> list[str]:
    """How to install Docker on this system, one line per way."""
    system = system or platform.system()
    if system == "Darwin":
        return ["Docker Desktop for Mac: https://docs.docker.com/desktop/setup/install/mac-install/",
                "  or: brew install --cask docker   (then start Docker Desktop once)"]
    if system == "Windows":
        return ["Docker Desktop for Windows with the WSL 2 backend: "
                "https://docs.docker.com/desktop/setup/install/windows-install/"]
    return ["Docker Engine: https://docs.docker.com/engine/install/",
            "  then: sudo usermod -aG docker $USER   (and log in again)",
            "  or Docker Desktop for Linux: https://docs.docker.com/desktop/setup/install/linux/"]


def docker_start_hint(system: str | None = None) -> list[str]:
    system = system or platform.system()
    if system in ("Darwin", "Windows"):
        return ["start Docker Desktop and wait until it says \"Engine running\""]
    return ["sudo systemctl start docker   (or start Docker Desktop)",
            "  if it runs but you get \"permission denied\": sudo usermod -aG docker $USER, "
            "then log in again"]


def kind_install_hint() -> list[str]:
    return [
        "Homebrew (macOS/Linux):  brew install kind",
        f"Go toolchain:            go install sigs.k8s.io/kind@{KIND_VERSION}",
        f"release binary:          https://github.com/kubernetes-sigs/kind/releases/tag/{KIND_VERSION}",
        "Windows:                 winget install Kubernetes.kind   (or: choco install kind)",
        "(kind is not on conda-forge, so `conda install` cannot provide it)",
    ]


_KIND_VERSION_RE = re.compile(r"\bv?(\d+)\.(\d+)\.(\d+)")


def parse_kind_version(text: str) -> tuple[int, int, int] | None:
    """"kind v0.23.0 go1.22 linux/amd64" -> (0, 23, 0)."""
    m = _KIND_VERSION_RE.search(text)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(v) for v in version)


@dataclass(frozen=True)
class Missing:
    """One prerequisite that is not there: what is wrong, and the lines that fix it."""

    item: str             # "Docker" or "kind"
    problem: str          # one sentence, e.g. "Docker is not installed (no `docker` command on PATH)"
    fix: tuple[str, ...]  # install or start lines, shown indented below the problem

    def lines(self, indent: str = "    ") -> list[str]:
        return [self.problem + ":"] + [indent + line for line in self.fix]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def docker_problem() -> Missing | None:
    """Not installed, installed with its daemon down (or unreachable), or None when it answers."""
    if shutil.which("docker") is None:
        return Missing("Docker", "Docker is not installed (no `docker` command on PATH); install Docker",
                       tuple(docker_install_hint()))
    info = run(["docker", "info", "--format", "{{.ServerVersion}}"])
    if info.rc != 0:
        why = (info.err.strip().splitlines() or ["no answer"])[-1]
        return Missing("Docker", f"Docker is installed but its daemon is not running "
                       f"(`docker info` failed: {why}); start it", tuple(docker_start_hint()))
    return None


def kind_problem() -> tuple[Missing | None, tuple[int, int, int] | None]:
    """(problem or None, the kind version when it could be read)."""
    wanted = f"install kind {KIND_VERSION} (any version >= {_dotted(KIND_MIN_VERSION)} works)"
    if shutil.which("kind") is None:
        return Missing("kind", f"kind is not installed (no `kind` command on PATH); {wanted}",
                       tuple(kind_install_hint())), None
    res = run(["kind", "version"])
    version = parse_kind_version(res.out) if res.rc == 0 else None
    if version is None:
        said = first_line((res.out or res.err).strip() or "no output")
        return Missing("kind", f"could not read the kind version from `kind version` ({said}); "
                       f"{wanted}", tuple(kind_install_hint())), None
    if version < KIND_MIN_VERSION:
        return Missing("kind", f"kind {_dotted(version)} is too old: the course needs kind >= "
                       f"{_dotted(KIND_MIN_VERSION)}, the first release whose default CNI (kindnet) "
                       f"enforces NetworkPolicy; upgrade to {KIND_VERSION}",
                       tuple(kind_install_hint())), version
    return None, version


def missing_prerequisites() -> list[Missing]:
    """Every missing prerequisite at once (Docker and kind are checked independently), so
    a learner installs everything in one go instead of discovering one per attempt."""
    docker = docker_problem()
    kind, _ = kind_problem()
    return [m for m in (docker, kind) if m is not None]


def check_kind() -> tuple[int, int, int]:
    problem, version = kind_problem()
    if problem is not None or version is None:
        raise PrerequisiteError(str(problem))
    return version


def check_prerequisites() -> tuple[int, int, int]:
    """Docker (CLI and daemon) and kind >= 0.24; raise one PrerequisiteError naming every
    missing piece with its install lines."""
    missing = missing_prerequisites()
    if missing:
        raise PrerequisiteError(prerequisites_message(missing))
    return check_kind()


def prerequisites_message(missing: Sequence[Missing]) -> str:
    if len(missing) == 1:
        return str(missing[0])
    return f"{len(missing)} prerequisites are missing:\n" + "\n".join(f"- {m}" for m in missing)


# --------------------------------------------------------------------------- cluster state

def cluster_exists(name: str = CLUSTER_NAME) -> bool:
    res = run(["kind", "get", "clusters"], timeout=15)
    return res.rc == 0 and name in res.out.split()


def _live(context: str):  # -> LiveCluster (lazy: the kubernetes client loads only here)
    from grader.cluster.live import LiveCluster

    return LiveCluster(context=context, progress=False)


def _answers(context: str, timeout: float = 5.0) -> bool:
    try:
        _live(context).ping(timeout)
    except Exception:
        return False
    return True


def container_state(name: str) -> str | None:
    """"true"/"false" for a container's Running state, None when it does not exist."""
    res = run(["docker", "inspect", "-f", "{{.State.Running}}", name], timeout=10)
    return res.out.strip() if res.rc == 0 else None


def wait_cluster_ready(context: str, timeout: float = 180, say: Callable[[str], None] = print) -> None:
    """Node Ready, then CoreDNS Ready, with a progress bar (two steps)."""
    from tqdm.auto import tqdm

    deadline = time.monotonic() + timeout
    cluster = None
    last = ""
    with tqdm(total=2, desc="svclab: node and CoreDNS ready", unit="check") as bar:
        for check in ("node_status", "coredns_status"):
            while True:
                try:
                    cluster = cluster or _live(context)
                    ok, last = getattr(cluster, check)()
                except Exception as exc:  # API server still starting
                    ok, last = False, first_line(exc)
                if ok:
                    bar.update(1)
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cluster not ready after {timeout:g}s ({check}: {last}); "
                                       f"see `svclab cluster status`")
                time.sleep(2)


def ensure_images(name: str, say: Callable[[str], None]) -> None:
    """Pull each pinned course image once, then copy it into the node (`kind load`), so labs
    start without network access to registries."""
    for image in COURSE_IMAGES:
        if run(["docker", "image", "inspect", image], timeout=15).rc != 0:
            if run_visible(["docker", "pull", image], say) != 0:
                raise RuntimeError(f"could not pull {image}; check your network, then re-run `make cluster`")
        if run_visible(["kind", "load", "docker-image", image, "--name", name], say) != 0:
            load_single_platform(image, name, say)


def load_single_platform(image: str, name: str, say: Callable[[str], None]) -> None:
    """The workaround for kind issue #3795: with Docker's containerd image store (the default
    of Docker Desktop and of new Docker Engine 29 installs) `kind load docker-image` of a
    multi-platform image fails with `ctr: content digest ...: not found`, because the saved
    archive names platforms that were never pulled. Saving only the pulled platform
    (`docker image save --platform`, Docker >= 28) and loading that archive works."""
    import tempfile
    from pathlib import Path

    platform_res = run(["docker", "image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", image], timeout=15)
    plat = platform_res.out.strip() if platform_res.rc == 0 else ""
    say(f"svclab: `kind load docker-image` failed; retrying with a single-platform archive ({plat or '?'})")
    with tempfile.TemporaryDirectory(prefix="svclab-image-") as tmp:
        archive = str(Path(tmp) / "image.tar")
        save = ["docker", "image", "save", "-o", archive, image]
        if plat:
            save[3:3] = ["--platform", plat]
        if run_visible(save, say) != 0 or \
                run_visible(["kind", "load", "image-archive", archive, "--name", name], say) != 0:
            raise RuntimeError(
                f"could not load {image} into the cluster (kind issue #3795 with Docker's containerd "
                f"image store). Upgrade Docker to >= 28, or turn off \"Use containerd for pulling "
                f"and storing images\" in Docker Desktop, then re-run `make cluster`")


def cloud_provider_command(system: str | None = None) -> list[str]:
    """`docker run` for cloud-provider-kind on the kind network; on macOS/Windows the node
    IPs are not reachable from the host, so each LoadBalancer also gets a localhost port."""
    cmd = ["docker", "run", "-d", "--name", CLOUD_PROVIDER_CONTAINER, "--restart", "unless-stopped",
           "--network", "kind", "-v", "/var/run/docker.sock:/var/run/docker.sock",
           CLOUD_PROVIDER_KIND_IMAGE]
    if (system or platform.system()) in ("Darwin", "Windows"):
        cmd.append("--enable-lb-port-mapping")
    return cmd


def ensure_cloud_provider(say: Callable[[str], None]) -> None:
    state = container_state(CLOUD_PROVIDER_CONTAINER)
    if state == "true":
        say(f"svclab: LoadBalancer controller {CLOUD_PROVIDER_CONTAINER} already running")
        return
    if state is not None:
        code = run_visible(["docker", "start", CLOUD_PROVIDER_CONTAINER], say)
    else:
        code = run_visible(cloud_provider_command(), say)
    if code != 0:
        raise RuntimeError("could not start cloud-provider-kind; LoadBalancer Services will stay "
                           "<pending> (everything else works). See `docker logs "
                           f"{CLOUD_PROVIDER_CONTAINER}`.")


# --------------------------------------------------------------------------- commands

def up(name: str = CLUSTER_NAME, *, images: bool = True, load_balancer: bool = True,
       say: Callable[[str], None] = print) -> int:
    """Create (or reuse) the course cluster. Idempotent: safe to run again at any time."""
    try:
        version = check_prerequisites()
    except PrerequisiteError as exc:
        print(f"svclab cluster up: {exc}", file=sys.stderr)
        return 2
    say(f"svclab: Docker OK, kind {_dotted(version)} OK")
    context = f"kind-{name}"
    try:
        if cluster_exists(name):
            # the context may be missing from this kubeconfig (another $KUBECONFIG, a deleted
            # context): kind writes it again, with the cluster's current API server port
            run(["kind", "export", "kubeconfig", "--name", name], timeout=30)
            if not _answers(context):
                say(f"svclab: cluster {name} exists but does not answer; starting its node container")
                run_visible(["docker", "start", f"{name}-control-plane"], say)
            else:
                say(f"svclab: reusing the existing cluster {name}")
        else:
            code = run_visible(["kind", "create", "cluster", "--name", name, "--config",
                                str(KIND_CONFIG_PATH), "--image", NODE_IMAGE, "--wait", "120s"], say)
            if code != 0:
                print(f"svclab cluster up: `kind create cluster` failed (exit {code}); see its output "
                      f"above. `svclab cluster down` cleans up a half-created cluster.", file=sys.stderr)
                return 1
        wait_cluster_ready(context, say=say)
        if images:
            ensure_images(name, say)
        if load_balancer:
            ensure_cloud_provider(say)
    except RuntimeError as exc:
        print(f"svclab cluster up: {exc}", file=sys.stderr)
        return 1
    ports = f"{COURSE_NODEPORTS[0]}-{COURSE_NODEPORTS[-1]}"
    say(f"svclab: cluster {name} is ready (context {context}); NodePorts {ports} answer on 127.0.0.1")
    for note in platform_notes():
        say(f"note: {note}")
    return 0


def platform_notes(system: str | None = None) -> list[str]:
    system = system or platform.system()
    notes = []
    if system in ("Darwin", "Windows"):
        notes.append("Docker Desktop cannot route to container IPs, so cloud-provider-kind runs with "
                     "--enable-lb-port-mapping: a LoadBalancer's EXTERNAL-IP is reached through a "
                     "localhost port (`docker ps` shows it). Creating LBs may ask for admin rights.")
    if system == "Linux" and "microsoft" in platform.release().lower():
        notes.append("WSL2: some WSL kernels lack the nftables features kindnet uses to enforce "
                     "NetworkPolicy; if the NetworkPolicy labs show no effect, install Calico "
                     "(see README, Cluster section).")
    return notes


def down(name: str = CLUSTER_NAME, say: Callable[[str], None] = print) -> int:
    """Delete the cluster and the LoadBalancer controller; missing pieces are fine."""
    if shutil.which("docker") is None or shutil.which("kind") is None:
        say("svclab: docker or kind is not installed, so there is no cluster to delete")
        return 0
    code = run_visible(["kind", "delete", "cluster", "--name", name], say)
    res = run(["docker", "rm", "-f", CLOUD_PROVIDER_CONTAINER], timeout=30)
    if res.rc == 0:
        say(f"svclab: removed {CLOUD_PROVIDER_CONTAINER}")
    return 0 if code == 0 else 1


@dataclass(frozen=True)
class Row:
    """One line of the readiness report: what was checked, whether it is ready, and what to do."""

    item: str
    ok: bool
    detail: str


def status_rows(name: str = CLUSTER_NAME) -> list[Row]:
    """One row per part of the setup, each with what to do when it is missing."""
    rows: list[Row] = []
    docker = docker_problem()
    rows.append(Row("Docker", docker is None,
                    "daemon answers" if docker is None else "\n".join(docker.lines(""))))
    kind, version = kind_problem()
    rows.append(Row("kind", kind is None, _dotted(version) if kind is None and version
                    else "\n".join(kind.lines("")) if kind else "?"))
    if docker is not None or kind is not None:
        rows.append(Row("cluster", False, "needs Docker and kind first (above), then `make cluster`"))
        return rows
    exists = cluster_exists(name)
    rows.append(Row("cluster", exists, f"kind cluster {name!r}" if exists else "missing: run `make cluster`"))
    if not exists:
        return rows
    context = f"kind-{name}"
    try:
        cluster = _live(context)
        cluster.ping(5)
        node_ok, node_detail = cluster.node_status()
        dns_ok, dns_detail = cluster.coredns_status()
    except Exception as exc:
        first = first_line(exc)
        rows.append(Row("API server", False, f"{context} does not answer ({first}); run `make cluster`"))
        return rows
    rows.append(Row("node Ready", node_ok, node_detail))
    rows.append(Row("CoreDNS", dns_ok, dns_detail))
    lb = container_state(CLOUD_PROVIDER_CONTAINER) == "true"
    rows.append(Row("LB controller", lb, CLOUD_PROVIDER_CONTAINER + (" running" if lb else
                    " not running: run `make cluster` (LoadBalancer Services stay <pending>)")))
    try:                       # cloud-provider-kind installs the Gateway API CRDs it serves
        gw_ok, gw_detail = cluster.gateway_api_status()
    except Exception as exc:
        gw_ok, gw_detail = False, f"cannot read the Gateway API CRDs ({first_line(exc)})"
    rows.append(Row("Gateway API", gw_ok, gw_detail))
    missing = [img for img in COURSE_IMAGES
               if run(["docker", "exec", f"{name}-control-plane", "crictl", "inspecti", img],
                      timeout=15).rc != 0]
    rows.append(Row("images loaded", not missing,
                    "all course images preloaded" if not missing
                    else f"missing {', '.join(missing)}: run `make cluster`"))
    return rows


#: `svclab cluster status` exit code when it has reported something missing (as
#: `systemctl status` does for a unit that is not running); 1 stays "svclab itself failed".
STATUS_MISSING = 3


def status(name: str = CLUSTER_NAME, say: Callable[[str], None] = print) -> int:
    """The table; a multi-line detail (install lines) continues indented under its row."""
    rows = status_rows(name)
    width = max(len(r.item) for r in rows)
    indent = " " * (width + 2 + 7 + 2)
    for r in rows:
        first, *more = r.detail.splitlines() or [""]
        say(f"{r.item:<{width}}  {'OK' if r.ok else 'missing':<7}  {first}")
        for line in more:
            say(indent + line)
    return 0 if all(r.ok for r in rows) else STATUS_MISSING


def gc(context: str | None = None, say: Callable[[str], None] = print) -> int:
    """Delete namespaces left behind by interrupted runs (label managed-by=svclab)."""
    try:
        names = _live(context or CONTEXT_NAME).gc()
    except Exception as exc:
        first = first_line(exc)
        print(
            f"svclab cluster gc: cannot reach context {context or CONTEXT_NAME!r} ({first})", file=sys.stderr
        )
        return 1
    say(f"svclab: deleting {len(names)} namespace(s): {', '.join(names)}" if names
        else "svclab: no svclab namespaces to delete")
    return 0
