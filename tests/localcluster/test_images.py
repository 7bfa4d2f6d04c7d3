"""The local cluster's images: reproducible bytes, and everything the live backend execs
is in the agnhost image with the libraries it loads (a missing one fails only at exec)."""
from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from grader.kind.images import AGNHOST_IMAGE
from grader.localcluster import images

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("curl", "dig", "nslookup", "ldd"))
                                or not Path(images.BUSYBOX).exists(),
                                reason="needs curl, dig, busybox-static (make local-cluster-deps)")


@pytest.fixture(scope="module")
def binaries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bins")
    for name in ("agnhost", "coredns"):
        (folder / name).write_bytes(b"\x7fELF fake " + name.encode())
        (folder / name).chmod(0o755)
    return {"agnhost": folder / "agnhost", "coredns": folder / "coredns"}


def _members(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _layer(archive: bytes) -> tarfile.TarFile:
    files = _members(archive)
    manifest = json.loads(files["manifest.json"])[0]
    return tarfile.open(fileobj=io.BytesIO(files[manifest["Layers"][0]]))


def test_same_inputs_give_the_same_bytes(binaries: dict[str, Path], tmp_path: Path) -> None:
    first = images.write_archives(images.course_images(binaries), tmp_path / "a")
    second = images.write_archives(images.course_images(binaries), tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_archives_are_tagged_as_the_course_pins(binaries: dict[str, Path]) -> None:
    tags = [json.loads(_members(images.archive(i))["manifest.json"])[0]["RepoTags"] for i in images.course_images(binaries)]
    assert tags == [[AGNHOST_IMAGE], [images.PAUSE_IMAGE], [images.COREDNS_IMAGE]]


def test_layer_entries_are_sorted_root_owned_and_dated_zero(binaries: dict[str, Path]) -> None:
    members = _layer(images.archive(images.agnhost_image(binaries["agnhost"]))).getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.uid, m.gid, m.mtime) for m in members} == {(0, 0, 0)}


def _resolve(layer: tarfile.TarFile, path: str) -> tarfile.TarInfo:
    """Follow symlinks inside the layer as the kernel would inside the container."""
    by_name = {m.name: m for m in layer.getmembers()}
    parts = path.strip("/").split("/")
    current: list[str] = []
    hops = 0
    while parts:
        current.append(parts.pop(0))
        member = by_name.get("/".join(current))
        if member is None:
            raise KeyError(path)
        if member.issym():
            hops += 1
            assert hops < 20, f"symlink loop at {path}"
            target = member.linkname
            base = [] if target.startswith("/") else current[:-1]
            parts = [*base, *target.strip("/").split("/"), *parts]
            current = []
    return by_name["/".join(current)] if current else by_name[path]


def test_agnhost_image_can_run_every_tool_the_live_backend_execs(binaries: dict[str, Path]) -> None:
    layer = _layer(images.archive(images.agnhost_image(binaries["agnhost"])))
    for tool in ("/agnhost", "/bin/sh", "/usr/bin/curl", "/usr/bin/dig", "/usr/bin/nslookup", "/bin/cat"):
        assert _resolve(layer, tool).mode & 0o111, f"{tool} is not executable"
    for tool in images.AGNHOST_TOOLS:
        for lib in images.shared_libraries(tool):
            _resolve(layer, lib)   # KeyError names the library the tool could not load


def test_pause_and_coredns_images_start_their_binary(binaries: dict[str, Path]) -> None:
    assert images.pause_image(binaries["agnhost"]).entrypoint == ["/agnhost", "pause"]
    coredns = images.coredns_image(binaries["coredns"])
    assert coredns.entrypoint == ["/coredns"]
    assert coredns.files["coredns"] == binaries["coredns"].read_bytes()
