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
