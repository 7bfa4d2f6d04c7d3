"""Build the upstream control plane for tests/controlplane from Go modules, into a cache.

Each component is a small wrapper Go module beside this file (kube/, etcd/, kwok/,
coredns/) whose go.mod pins the upstream release and whose go.sum pins every dependency;
the Go module proxy serves the sources, nothing upstream is vendored here. Binaries go to
a cache OUTSIDE the clone, one folder per component keyed by its upstream version and a
hash of the wrapper module and the Go toolchain, so only the first build on a machine
pays (20-40 minutes on two shared cores; a cached component costs nothing):

    ${SVCLAB_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-~/.cache}/svclab/controlplane}/<key>/bin

    python controlplane/build.py            build what is missing, print the bin folders
    python controlplane/build.py --check    exit 1 (and say what) unless everything is built

The test fixture imports `installed()` from here, so build and tests agree on the key.
Builds run under `nice`, with CGO off (static binaries, no C compiler needed) and
GOTOOLCHAIN=local (never download a toolchain). Standard library only: it runs before
the project's virtual environment exists.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Component:
    """One wrapper module and the commands built from it."""

    name: str                      # folder beside this file
    module: str                    # the upstream module its go.mod requires
    commands: dict[str, str]       # binary name -> package path
    ldflags: tuple[str, ...] = ()  # -X flags; "{version}" is replaced by the module version
    # files copied from the upstream module into the cache (kwok's stage definitions);
    # "other/module::dir/*.yaml" copies the matching files of another module in the build list
    share: tuple[str, ...] = field(default=())


K8S_VERSION_PKG = "k8s.io/component-base/version"

COMPONENTS = (
    Component("etcd", "go.etcd.io/etcd/server/v3", {"etcd": "go.etcd.io/etcd/server/v3"}),
    Component(
        "kube", "k8s.io/kubernetes",
        {"kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
         "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
         "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler"},
        # what hack/lib/version.sh stamps, so /version reports the release, not v0.0.0
        ldflags=(f"-X {K8S_VERSION_PKG}.gitVersion={{version}}",
                 f"-X {K8S_VERSION_PKG}.gitMajor={{major}}",
                 f"-X {K8S_VERSION_PKG}.gitMinor={{minor}}",
                 f"-X {K8S_VERSION_PKG}.gitTreeState=clean")),
    Component("kwok", "sigs.k8s.io/kwok", {"kwok": "sigs.k8s.io/kwok/cmd/kwok"},
              share=("kustomize/stage/node/fast/node-initialize.yaml",
                     "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
                     "kustomize/stage/pod/fast/pod-ready.yaml",
                     "kustomize/stage/pod/fast/pod-complete.yaml",
                     "kustomize/stage/pod/fast/pod-delete.yaml")),
    Component("coredns", "github.com/coredns/coredns", {"coredns": "."}),
)

_K8S_LDFLAGS = COMPONENTS[1].ldflags

# The node half, for the local cluster (grader/localcluster): built only when asked
# (`--node`), in modules of their own so the control plane's cache keys stay as they are.
NODE_COMPONENTS = (
    Component(
        "node", "k8s.io/kubernetes",
        {"kubelet": "k8s.io/kubernetes/cmd/kubelet",
         "kube-proxy": "k8s.io/kubernetes/cmd/kube-proxy",
         "agnhost": "k8s.io/kubernetes/test/images/agnhost"},
        ldflags=_K8S_LDFLAGS),
    Component("netpol", "sigs.k8s.io/kube-network-policies",
              {"kube-network-policies": "sigs.k8s.io/kube-network-policies/cmd"}),
    # Ingress and Gateway API for the local cluster (cloud-provider-kind needs Docker); the
    # Gateway API CRDs come from the gateway-api module Traefik's go.sum pins.
    Component("traefik", "github.com/traefik/traefik/v3",
              {"traefik": "github.com/traefik/traefik/v3/cmd/traefik"},
              ldflags=("-X github.com/traefik/traefik/v3/pkg/version.Version={version}",),
              share=("sigs.k8s.io/gateway-api::config/crd/standard/*.yaml",)),
    # LoadBalancer addresses: MetalLB's controller (allocation only; see grader/localcluster/edge.py)
    Component("metallb", "go.universe.tf/metallb",
              {"metallb-controller": "go.universe.tf/metallb/controller"},
              share=("config/crd/bases/metallb.io_ipaddresspools.yaml",
                     "config/crd/bases/metallb.io_l2advertisements.yaml",
                     "config/crd/bases/metallb.io_bgpadvertisements.yaml",
                     "config/crd/bases/metallb.io_bgppeers.yaml",
                     "config/crd/bases/metallb.io_bfdprofiles.yaml",
                     "config/crd/bases/metallb.io_communities.yaml",
                     "config/crd/bases/metallb.io_servicel2statuses.yaml",
                     "config/crd/bases/metallb.io_servicebgpstatuses.yaml")),
)


def cache_root() -> Path:
    explicit = os.environ.get("SVCLAB_CONTROLPLANE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "svclab" / "controlplane"


def required_version(component: Component) -> str:
    """The upstream release the wrapper's go.mod requires."""
    text = (HERE / component.name / "go.mod").read_text(encoding="utf-8")
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(component.module)}\s+(v\S+)", text, re.M)
    if not match:
        raise SystemExit(f"controlplane/{component.name}/go.mod does not require {component.module}")
    return match.group(1)


def go_version() -> str | None:
    go = shutil.which("go")
    if go is None:
        return None
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60,
                         env=go_env())
    return out.stdout.strip() or None


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(CGO_ENABLED="0", GOTOOLCHAIN="local", GOFLAGS="-mod=readonly -trimpath")
    return env


def key(component: Component, goversion: str) -> str:
    """<name>-<upstream version>-<hash of the wrapper module, build flags and Go version>."""
    digest = hashlib.sha256()
    folder = HERE / component.name
    for path in sorted(folder.iterdir()):
        if path.is_file() and (path.suffix == ".go" or path.name in ("go.mod", "go.sum")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(repr((component, goversion, go_env()["GOFLAGS"])).encode())
    return f"{component.name}-{required_version(component)}-{digest.hexdigest()[:12]}"


def installed(goversion: str | None = None,
              components: tuple[Component, ...] = COMPONENTS) -> dict[str, Path] | str:
    """{binary or share file name: path} when every component is built for this Go and these
    wrapper modules; otherwise a sentence saying what is missing (the tests' skip reason)."""
    goversion = goversion or go_version()
    if goversion is None:
        return "Go is not installed (`go` is not on PATH), so the control plane cannot be built"
    found: dict[str, Path] = {}
    missing = []
    for component in components:
        folder = cache_root() / key(component, goversion)
        if not (folder / "complete").exists():
            missing.append(component.name)
            continue
        found.update({name: folder / "bin" / name for name in component.commands})
        found.update({Path(rel).name: folder / "share" / Path(rel).name
                      for rel in component.share if "::" not in rel})
        found.update({f"{component.name}-share": folder / "share"} if component.share else {})
    if missing:
        target = "make local-cluster" if any(c in NODE_COMPONENTS for c in components) else "make control-plane"
        return (f"the control plane is not built ({', '.join(missing)} missing under "
                f"{cache_root()}): run `{target}`")
    return found


def build(component: Component, goversion: str, log=print) -> Path:
    """Build one component into its cache folder (if not there yet); return the folder."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    folder = root / key(component, goversion)
    with open(root / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)    # a second `make control-plane` waits, then reuses
        if (folder / "complete").exists():
            log(f"{component.name}: cached ({folder})")
            return folder
        version = required_version(component)
        started = time.monotonic()
        for stale in root.glob(f".{folder.name}.tmp*"):   # an interrupted build's leftovers
            shutil.rmtree(stale, ignore_errors=True)
        staging = root / f".{folder.name}.tmp{os.getpid()}"
        (staging / "bin").mkdir(parents=True)
        major, minor = (version.lstrip("v").split(".") + ["", ""])[:2]
        ldflags = " ".join(["-s", "-w", *(f.format(version=version, major=major, minor=minor)
                                          for f in component.ldflags)])
        src = HERE / component.name
        overlay = _patched_modules(src, staging)
        for binary, package in component.commands.items():
            log(f"{component.name}: building {binary} ({component.module} {version}) ...")
            cmd = ["nice", "-n", "19", "go", "build", f"-ldflags={ldflags}", *overlay,
                   "-o", str(staging / "bin" / binary), package]
            subprocess.run(cmd, cwd=src, env=go_env(), check=True, timeout=3600)
        if component.share:
            _copy_share(component, src, staging / "share")
        for scratch in ("patched", "go.mod", "go.sum"):
            path = staging / scratch
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        seconds = time.monotonic() - started
        (staging / "complete").write_text(f"{component.module} {version} built in {seconds:.0f}s with {goversion}\n")
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
        log(f"{component.name}: built in {seconds:.0f}s -> {folder}")
        return folder


LEGO = "github.com/go-acme/lego/v5"
_DROP_MARK = "svclab:drop-lego-dns-providers"


def lego_table_without(table: str, drop: set[str]) -> str:
    """lego's generated DNS-provider table (providers/dns/zz_gen_dns_providers.go) without the
    named providers: their imports, and each `case` line followed by exactly its
    `return <provider>.NewDNSProvider()`. Any other shape stops the build."""
    lines = table.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        imported = stripped.strip('"')
        if imported.startswith(f"{LEGO}/providers/dns/") and imported.rsplit("/", 1)[1] in drop:
            i += 1
            continue
        name = next((n for n in drop if stripped.startswith("case ") and f'"{n}"' in stripped), None)
        if name and i + 1 < len(lines) and lines[i + 1].strip() == f"return {name}.NewDNSProvider()":
            i += 2
            continue
        out.append(lines[i])
        i += 1
    result = "".join(out)
    left = [name for name in drop if re.search(rf"\b{name}\.NewDNSProvider", result)]
    if left:
        raise SystemExit(f"lego's provider table changed shape: {', '.join(sorted(left))} still referenced")
    return result


def _module_dir(src: Path, module: str) -> Path:
    """Where the module cache holds `module` at the version `src`'s go.mod selects,
    downloading it first: `go list -m` names no folder for a module not downloaded yet
    (the first build on a clean machine patches lego before anything fetched it)."""
    out = subprocess.run(["go", "mod", "download", "-json", module], cwd=src, env=go_env(),
                         capture_output=True, text=True, timeout=1200)
    info = json.loads(out.stdout or "{}") if out.stdout.strip().startswith("{") else {}
    if out.returncode != 0 or not info.get("Dir"):
        why = info.get("Error") or out.stderr.strip() or "no folder reported"
        raise SystemExit(f"controlplane/{src.name}: cannot download {module}: {why}")
    return Path(info["Dir"])


def _module_copy(src: Path, module: str, dest: Path) -> Path:
    moddir = _module_dir(src, module)
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-r", "--no-preserve=mode", moddir, str(dest)], check=True, timeout=600)
    return dest


def _patched_modules(src: Path, staging: Path) -> list[str]:
    """Patched copies of upstream modules, and `-modfile` arguments that point the build at
    them (go.mod itself stays as committed); none when the wrapper asks for no patch:
    - go.mod naming lego DNS providers to leave out (their SDKs are not on the module proxy):
      lego with a trimmed provider table;
    - a `//go:build ignore` file beside go.mod whose comment says `svclab:add-to <module>`:
      that module with the file added."""
    gomod = (src / "go.mod").read_text(encoding="utf-8")
    replaces: list[str] = []
    mark = re.search(rf"{_DROP_MARK}\s+(.+)", gomod)
    if mark:
        copy = _module_copy(src, LEGO, staging / "patched" / "lego")
        table = copy / "providers" / "dns" / "zz_gen_dns_providers.go"
        table.write_text(lego_table_without(table.read_text(encoding="utf-8"), set(mark.group(1).split())))
        replaces.append(f"replace {LEGO} => {copy}")
    for extra in sorted(src.glob("*.go")):
        text = extra.read_text(encoding="utf-8")
        target = re.search(r"^// svclab:add-to (\S+)$", text, re.M)
        if not target or not text.startswith("//go:build ignore\n"):
            continue
        module = target.group(1)
        copy = _module_copy(src, module, staging / "patched" / module.replace("/", "_"))
        if not (copy / "go.mod").exists():      # a release from before modules
            (copy / "go.mod").write_text(f"module {module}\n\ngo 1.16\n", encoding="utf-8")
        (copy / f"svclab_{extra.name}").write_text(text.removeprefix("//go:build ignore\n"), encoding="utf-8")
        # the committed replace names the release the copy was taken from; the copy replaces it
        gomod = re.sub(rf"^(\s*(?:replace\s+)?){re.escape(module)}\s+=>.*$", "", gomod, flags=re.M)
        replaces.append(f"replace {module} => {copy}")
    if not replaces:
        return []
    (staging / "go.mod").write_text(gomod + "\n" + "\n".join(replaces) + "\n", encoding="utf-8")
    shutil.copyfile(src / "go.sum", staging / "go.sum")
    return [f"-modfile={staging / 'go.mod'}"]


def _copy_share(component: Component, src: Path, dest: Path) -> None:
    """Copy the component's share files out of the module cache (downloaded by the build)."""
    dest.mkdir()
    for entry in component.share:
        module, _, rel = entry.rpartition("::")
        moddir = _module_dir(src, module or component.module)
        matches = sorted(moddir.glob(rel))
        if not matches:
            raise SystemExit(f"controlplane/{component.name}: {entry} matches no file in {moddir}")
        for path in matches:
            shutil.copyfile(path, dest / path.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether everything is built")
    parser.add_argument("--node", action="store_true",
                        help="also build the node (kubelet, kube-proxy, agnhost, kube-network-policies)")
    args = parser.parse_args(argv)
    components = COMPONENTS + (NODE_COMPONENTS if args.node else ())
    goversion = go_version()
    if args.check:
        found = installed(goversion, components)
        if isinstance(found, str):
            print(found)
            return 1
        print(f"control plane built under {cache_root()}")
        return 0
    if goversion is None:
        print(installed(None), file=sys.stderr)
        return 1
    started = time.monotonic()
    for component in components:
        build(component, goversion)
    print(f"control plane ready in {time.monotonic() - started:.0f}s (cache: {cache_root()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
