"""Container images for the local cluster, written here from binaries: no registry, no Docker.

Each image is a docker-archive tar (manifest.json, one config JSON, one layer tar), the
format `ctr images import` reads. Layers are reproducible: entries sorted, owner root,
mtime 0, so the same inputs give the same bytes and the same image ID on every machine
with the same Debian packages and Go build.

- agnhost (tagged as the course's pin, grader/kind/images.py): the e2e binary plus what the
  live backend execs in pods (`/agnhost connect`, `curl`, `dig`, a shell): busybox-static
  for the shell and the small tools, curl and dig from Debian with the shared libraries
  `ldd` names. The upstream image carries the same tools (it is built on a Debian base).
- pause: the sandbox image; agnhost's `pause` subcommand waits for a signal as pause does.
- coredns: the project's CoreDNS build, run as the kube-dns pod as in kind.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.kind.images import AGNHOST_IMAGE

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.14.6"

#: Debian tools copied into the agnhost image with their shared libraries.
AGNHOST_TOOLS = ("/usr/bin/curl", "/usr/bin/dig", "/usr/bin/nslookup")
BUSYBOX = "/bin/busybox"
#: Merged-/usr layout of Debian bookworm: ldd names /lib/... paths that live in /usr/lib.
USR_MERGE = {"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class Image:
    """One image: its tag, entrypoint and files (path in the image -> bytes, or a symlink)."""

    tag: str
    entrypoint: list[str]
    cmd: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)
    dirs: tuple[str, ...] = ("tmp", "etc", "root")

    def add_file(self, host_path: str | Path, image_path: str | None = None, mode: int | None = None) -> None:
        path = Path(host_path)
        name = (image_path or str(path)).lstrip("/")
        self.files[name] = path.read_bytes()
        self.modes[name] = mode if mode is not None else (path.stat().st_mode & 0o7777)


def layer_tar(image: Image) -> bytes:
    """The image's one layer, byte-for-byte reproducible."""
    entries: dict[str, tarfile.TarInfo] = {}
    payload: dict[str, bytes] = {}

    def info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = kind, mode, 0, 0, 0, "", ""
        return ti

    def parents(name: str) -> None:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in entries:
                entries[d] = info(d, tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755)

    for d in image.dirs:
        parents(d + "/x")
    for name, target in image.links.items():
        parents(name)
        ti = info(name, tarfile.SYMTYPE, 0o777)
        ti.linkname = target
        entries[name] = ti
    for name, data in image.files.items():
        parents(name)
        ti = info(name, tarfile.REGTYPE, image.modes.get(name, 0o644))
        ti.size = len(data)
        entries[name], payload[name] = ti, data
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(entries):
            tar.addfile(entries[name], io.BytesIO(payload[name]) if name in payload else None)
    return buf.getvalue()


def archive(image: Image) -> bytes:
    """The docker-archive tar for `ctr images import`."""
    layer = layer_tar(image)
    layer_id = hashlib.sha256(layer).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "1970-01-01T00:00:00Z",
            "config": {
                "Entrypoint": image.entrypoint,
                "Cmd": image.cmd or None,
                "Env": [PATH_ENV],
                "WorkingDir": "/",
                "Labels": {"svclab.local/built-by": "grader.localcluster.images"},
            },
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_id}"]},
            "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "grader.localcluster.images"}],
        },
        sort_keys=True,
    ).encode()
    config_id = hashlib.sha256(config).hexdigest()
    manifest = json.dumps(
        [{"Config": f"{config_id}.json", "RepoTags": [image.tag], "Layers": [f"{layer_id}/layer.tar"]}]
    ).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in sorted(
            {f"{config_id}.json": config, f"{layer_id}/layer.tar": layer, "manifest.json": manifest}.items()
        ):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), 0, 0o644
            tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _canonical(path: str) -> str:
    """Where a host path lives once /lib, /bin ... are taken as links into /usr."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def add_with_links(image: Image, path: str) -> None:
    """Add a host file under its canonical path, and every symlink on the way to it."""
    path = _canonical(path)
    while os.path.islink(path):
        target = os.readlink(path)
        image.links[path.lstrip("/")] = target
        path = _canonical(os.path.join(os.path.dirname(path), target))
    image.add_file(path)


def shared_libraries(binary: str) -> list[str]:
    """The libraries `ldd` resolves for a dynamic binary (and its loader), sorted."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True, timeout=30).stdout
    libs = set()
    for line in out.splitlines():
        words = line.split()
        for word in words:
            if word.startswith("/"):
                libs.add(word)
    return sorted(libs)


def _base(image: Image) -> None:
    for top, target in USR_MERGE.items():
        image.links[top] = target
    image.files["etc/passwd"] = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
    image.files["etc/group"] = b"root:x:0:\nnogroup:x:65534:\n"
    image.files["etc/nsswitch.conf"] = b"hosts: files dns\n"


def agnhost_image(agnhost: Path) -> Image:
    image = Image(AGNHOST_IMAGE, entrypoint=["/agnhost"], cmd=["pause"])
    _base(image)
    image.add_file(agnhost, "/agnhost", 0o755)
    image.add_file(BUSYBOX, "/usr/bin/busybox", 0o755)
    applets = subprocess.run(
        [BUSYBOX, "--list"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.split()
    for tool in AGNHOST_TOOLS:
        add_with_links(image, tool)
        for lib in shared_libraries(tool):
            add_with_links(image, lib)
    for applet in sorted(applets):
        name = f"usr/bin/{applet}"
        if name not in image.files and name not in image.links:
            image.links[name] = "busybox"
    return image


def pause_image(agnhost: Path) -> Image:
    image = Image(PAUSE_IMAGE, entrypoint=["/agnhost", "pause"], dirs=())
    image.add_file(agnhost, "/agnhost", 0o755)
    return image


def coredns_image(coredns: Path) -> Image:
    image = Image(COREDNS_IMAGE, entrypoint=["/coredns"], dirs=("tmp", "etc"))
    image.add_file(coredns, "/coredns", 0o755)
    return image


def course_images(binaries: dict[str, Path]) -> list[Image]:
    """Every image the local cluster runs: the course's agnhost, the sandbox, CoreDNS."""
    return [
        agnhost_image(binaries["agnhost"]),
        pause_image(binaries["agnhost"]),
        coredns_image(binaries["coredns"]),
    ]


def write_archives(images: list[Image], folder: Path) -> list[Path]:
    """Write each image's archive (only when its bytes changed); return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for image in images:
        data = archive(image)
        path = folder / (image.tag.rsplit("/", 1)[-1].replace(":", "_") + ".tar")
        if not path.exists() or path.read_bytes() != data:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        paths.append(path)
    return paths


BUILT_IMAGES = (AGNHOST_IMAGE, PAUSE_IMAGE, COREDNS_IMAGE)
