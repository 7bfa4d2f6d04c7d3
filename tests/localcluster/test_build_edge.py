"""controlplane/build.py's two additions for Traefik: lego's DNS-provider table without the
providers whose SDKs the module proxy refuses, and share files taken from another module."""
from __future__ import annotations

import pytest

from grader.localcluster import binaries

TABLE = '''package dns

import (
\t"fmt"

\t"github.com/go-acme/lego/v5/providers/dns/baiducloud"
\t"github.com/go-acme/lego/v5/providers/dns/edgedns"
\t"github.com/go-acme/lego/v5/providers/dns/ucloud"
)

func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {
\tswitch name {
\tcase "baiducloud":
\t\treturn baiducloud.NewDNSProvider()
\tcase "edgedns", "fastdns":
\t\treturn edgedns.NewDNSProvider()
\tcase "ucloud":
\t\treturn ucloud.NewDNSProvider()
\tdefault:
\t\treturn nil, fmt.Errorf("unrecognized DNS provider: %s", name)
\t}
}
'''


def test_dropped_providers_lose_their_import_and_case_and_nothing_else() -> None:
    build = binaries.build_module()
    out = build.lego_table_without(TABLE, {"edgedns", "ucloud"})
    assert "edgedns" not in out and "fastdns" not in out
    assert "providers/dns/ucloud\"" not in out and "\treturn ucloud.NewDNSProvider" not in out
    # baiducloud ends in "ucloud" and stays whole
    assert '"github.com/go-acme/lego/v5/providers/dns/baiducloud"' in out
    assert 'case "baiducloud":\n\t\treturn baiducloud.NewDNSProvider()' in out
    assert out.count("\n") == TABLE.count("\n") - 6


def test_a_table_of_another_shape_stops_the_build() -> None:
    build = binaries.build_module()
    odd = TABLE.replace('\tcase "ucloud":\n\t\treturn ucloud.NewDNSProvider()',
                        '\tcase "ucloud": return ucloud.NewDNSProvider()')
    with pytest.raises(SystemExit, match="ucloud still referenced"):
        build.lego_table_without(odd, {"ucloud"})


def test_traefik_and_metallb_are_node_components_with_their_crds() -> None:
    build = binaries.build_module()
    by_name = {c.name: c for c in build.NODE_COMPONENTS}
    assert by_name["traefik"].share == ("sigs.k8s.io/gateway-api::config/crd/standard/*.yaml",)
    assert all(s.startswith("config/crd/bases/metallb.io_") for s in by_name["metallb"].share)
    gomod = (build.HERE / "traefik" / "go.mod").read_text()
    assert "svclab:drop-lego-dns-providers edgedns huaweicloud oraclecloud sakuracloud ucloud yandexcloud" in gomod


def _fake_go(tmp_path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """A `go` first on PATH that runs `script` (sh) and records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    go = bin_dir / "go"
    go.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'calls'}\n{script}\n")
    go.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")


def test_a_module_to_patch_is_downloaded_before_it_is_copied(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a clean machine lego is not in the module cache when Traefik's build patches it:
    `go list -m` then names no folder and `cp ''` failed CI's first cold run here. The
    folder comes from `go mod download -json`, which fetches it first."""
    build = binaries.build_module()
    cached = tmp_path / "mod" / "lego@v5.4.1"
    (cached / "providers" / "dns").mkdir(parents=True)
    (cached / "providers" / "dns" / "zz_gen_dns_providers.go").write_text(TABLE)
    _fake_go(tmp_path, monkeypatch, f"echo '{{\"Path\": \"{build.LEGO}\", \"Dir\": \"{cached}\"}}'")
    copy = build._module_copy(tmp_path, build.LEGO, tmp_path / "staging" / "lego")
    assert (copy / "providers" / "dns" / "zz_gen_dns_providers.go").read_text() == TABLE
    assert (tmp_path / "calls").read_text().split() == ["mod", "download", "-json", build.LEGO]


def test_a_module_that_cannot_be_downloaded_stops_the_build_saying_which(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    build = binaries.build_module()
    _fake_go(tmp_path, monkeypatch, "echo '{\"Error\": \"proxy.golang.org: 404 Not Found\"}'; exit 1")
    with pytest.raises(SystemExit, match="cannot download github.com/go-acme/lego/v5: proxy.golang.org: 404"):
        build._module_copy(tmp_path, build.LEGO, tmp_path / "staging" / "lego")
