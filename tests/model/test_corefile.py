"""The offline model follows the Corefile in kube-system/coredns as CoreDNS does.

Sources (coredns/coredns, the plugin READMEs published as coredns.io/plugins/<name>, and the
code they describe):
- server blocks: core/dnsserver (the longest matching zone takes the query; no block: REFUSED;
  plugin.NextOrFailure: SERVFAIL past the last plugin); plugin.cfg fixes the plugin order.
- rewrite: plugin/rewrite README "Name Field Rewrites", "Response Rewrites" ("answers for
  rewrites of type exact are always rewritten"; `answer auto` reverses a suffix rule), name.go
  (names compared lower-cased with a trailing dot; regex groups {n}).
- cache: plugin/cache README ("TTL max TTL ... minimum cache duration defaults to 5 seconds")
  and cache.go ResponseWriter.WriteMsg ("Apply capped TTL to this reply", before storage).
- hosts: plugin/hosts README (ttl default 3600, fallthrough) and hosts.go ServeDNS (a name it
  lacks without fallthrough: SERVFAIL, "we don't have a SOA").
- kubernetes: plugin/kubernetes README (pods disabled|insecure|verified, disabled is the
  default; ttl default 5; fallthrough).
- forward: plugin/forward README (FROM is the base domain; `except`).
"""
from __future__ import annotations

import pytest
from test_model_kit import deployment, service

from grader.cluster.offline import OfflineCluster
from grader.localcluster.addons import COREFILE as LOCAL_CLUSTER_COREFILE
from grader.localcluster.layout import CONTEXT as LOCAL_CONTEXT
from grader.model.corefile import DEFAULT_COREFILE, CorefileError, parse
from grader.model.dns import resolve
from grader.model.state import ClusterState
from grader.observations import Status

KUBERNETES = """    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }"""


def corefile(*lines: str, kubernetes: str = KUBERNETES, extra: str = "") -> str:
    body = "\n".join("    " + line for line in lines)
    return f".:53 {{\n    errors\n{kubernetes}\n    forward . /etc/resolv.conf\n{body}\n}}\n{extra}"


@pytest.fixture()
def cluster() -> OfflineCluster:
    c = OfflineCluster(say=lambda line: None)
    ns = c.namespace("prod")
    ns.apply([deployment("web", {"app": "web"}, replicas=2), service("web", {"app": "web"}),
              deployment("client", {"app": "client"})])
    return c


def ip_of(c: OfflineCluster, name: str) -> str:
    svc = c.state.service("prod", name)
    assert svc is not None and svc.cluster_ip
    return str(svc.cluster_ip)


# ---------------------------------------------------------------- the default file
QUESTIONS = [("web", "A"), ("web.prod", "A"), ("web", "SRV"), ("nosuch", "A"), ("example.com", "A"),
             ("corp.internal", "A"), ("10-244-0-9.prod.pod.cluster.local", "A"),
             ("10.0.96.10.in-addr.arpa.", "PTR"), ("9.9.9.9.in-addr.arpa.", "PTR"),
             ("dns-version.cluster.local", "TXT"), ("kubernetes.default", "A")]


def test_the_model_installs_kinds_corefile_in_the_coredns_configmap() -> None:
    state = ClusterState()
    cm = state.get("ConfigMap", "coredns", "kube-system")
    assert cm is not None and cm["data"]["Corefile"] == DEFAULT_COREFILE
    # live, the local cluster runs the same file, but for how often reload looks for an edit
    assert LOCAL_CLUSTER_COREFILE.replace("    reload 2s\n", "    reload\n") == DEFAULT_COREFILE
    assert [b.reload for b in parse(LOCAL_CLUSTER_COREFILE).blocks] == [2.0]
    assert [b.reload for b in parse(DEFAULT_COREFILE).blocks] == [30.0]
    assert OfflineCluster(state).corefile() == DEFAULT_COREFILE


def test_default_corefile_answers_as_the_model_always_did(cluster: OfflineCluster) -> None:
    """Pinned: the answers kind's Corefile gives (grader.model.dns's rules), explicitly."""
    web = ip_of(cluster, "web")
    ans = resolve(cluster.state, "web", "prod")
    assert (ans.rcode, ans.addresses, ans.ttl) == ("NOERROR", [web], 30)   # kubernetes ttl 30, cache 30
    assert resolve(cluster.state, "example.com", "prod").rcode == "SERVFAIL"  # no internet offline
    assert resolve(cluster.state, "corp.internal", "prod").rcode == "NXDOMAIN"
    assert resolve(cluster.state, "10-244-0-9.prod.pod.cluster.local", "prod").addresses == ["10.244.0.9"]
    assert resolve(cluster.state, "9.9.9.9.in-addr.arpa.", "prod", "PTR").rcode == "NXDOMAIN"
    assert [r.value for r in resolve(cluster.state, "10.0.96.10.in-addr.arpa.", "prod", "PTR").records] \
        == ["kube-dns.kube-system.svc.cluster.local"]


def test_reapplying_the_default_corefile_changes_no_answer(cluster: OfflineCluster) -> None:
    before = [resolve(cluster.state, n, "prod", t) for n, t in QUESTIONS]
    cluster.edit_corefile(corefile("rewrite name exact a.b web.prod.svc.cluster.local"))
    cluster.edit_corefile(DEFAULT_COREFILE)
    after = [resolve(cluster.state, n, "prod", t) for n, t in QUESTIONS]
    assert after == before and [a.ttl for a in after] == [b.ttl for b in before]


# ---------------------------------------------------------------- rewrite
def test_exact_rewrite_answers_under_the_name_asked_and_probes_follow(cluster: OfflineCluster) -> None:
    cluster.edit_corefile(corefile("rewrite name exact db.legacy.internal web.prod.svc.cluster.local"))
    ans = resolve(cluster.state, "db.legacy.internal", "prod")
    assert ans.addresses == [ip_of(cluster, "web")]
    assert {r.name for r in ans.records} == {"db.legacy.internal"}          # exact: always reverted
    out = cluster.namespace("prod", fresh=False).probe("db.legacy.internal:80/hostname", frm="app=client")
    assert out.status is Status.OK
    assert resolve(cluster.state, "other.legacy.internal", "prod").rcode == "NXDOMAIN"


def test_suffix_rewrite_keeps_the_rewritten_owner_name_unless_answer_auto(cluster: OfflineCluster) -> None:
    cluster.edit_corefile(corefile("rewrite name suffix .legacy.internal .prod.svc.cluster.local"))
    ans = resolve(cluster.state, "web.legacy.internal", "prod")
    assert ans.addresses == [ip_of(cluster, "web")]
    assert {r.name for r in ans.records} == {"web.prod.svc.cluster.local"}  # the mismatch the README shows
    client = cluster.namespace("prod", fresh=False)
    out = client.probe("web.legacy.internal:80/hostname", frm="app=client")
    assert out.status is Status.DNS_ERROR                                    # glibc: "asked for X, got Y"
    cluster.edit_corefile(corefile("rewrite name suffix .legacy.internal .prod.svc.cluster.local answer auto"))
    assert {r.name for r in resolve(cluster.state, "web.legacy.internal", "prod").records} == {"web.legacy.internal"}
    assert client.probe("web.legacy.internal:80/hostname", frm="app=client").status is Status.OK


def test_regex_rewrite_uses_groups_and_the_trailing_dot(cluster: OfflineCluster) -> None:
    cluster.edit_corefile(corefile(r"rewrite name regex (.*)-old\.corp\.internal\.$ {1}.prod.svc.cluster.local answer auto"))
    assert resolve(cluster.state, "web-old.corp.internal", "prod").addresses == [ip_of(cluster, "web")]
    assert resolve(cluster.state, "web-new.corp.internal", "prod").rcode == "NXDOMAIN"


def test_plugin_order_is_coredns_not_the_line_order(cluster: OfflineCluster) -> None:
    text = ".:53 {\n    forward . /etc/resolv.conf\n" + KUBERNETES + "\n    rewrite name exact x.y web.prod.svc.cluster.local\n}\n"
    cluster.edit_corefile(text)
    assert resolve(cluster.state, "x.y", "prod").addresses == [ip_of(cluster, "web")]


# ---------------------------------------------------------------- stub domains, hosts, forward
def test_stub_domain_server_block_takes_its_zone(cluster: OfflineCluster) -> None:
    stub = "corp.example:53 {\n    hosts {\n        10.0.0.53 db.corp.example\n    }\n}\n"
    cluster.edit_corefile(corefile(extra=stub))
    db = resolve(cluster.state, "db.corp.example", "prod")
    # ndots:5: the search suffixes go first, to the `.` block (kubernetes: NXDOMAIN), then as given
    assert (db.rcode, db.addresses, db.name, db.ttl) == ("NOERROR", ["10.0.0.53"], "db.corp.example", 3600)
    assert resolve(cluster.state, "api.corp.example", "prod").rcode == "SERVFAIL"   # hosts, no fallthrough
    assert resolve(cluster.state, "web", "prod").addresses == [ip_of(cluster, "web")]  # `.` untouched


def test_hosts_fallthrough_passes_unknown_names_to_forward(cluster: OfflineCluster) -> None:
    stub = ("corp.example:53 {\n    hosts {\n        10.0.0.53 db.corp.example\n        fallthrough\n"
            "    }\n    forward . 172.18.0.1\n    cache 60\n}\n")
    cluster.edit_corefile(corefile(extra=stub))
    assert resolve(cluster.state, "api.corp.example", "prod").rcode == "NXDOMAIN"
    assert resolve(cluster.state, "db.corp.example", "prod").ttl == 60       # 3600 capped by cache 60
    assert resolve(cluster.state, "db.corp.example", "prod", "TXT").rcode == "NOERROR"  # NODATA


def test_a_name_no_block_serves_is_refused_and_a_block_without_answerer_fails() -> None:
    c = OfflineCluster(say=lambda line: None)
    c.namespace("prod")
    c.edit_corefile("cluster.local:53 {\n" + KUBERNETES + "\n}\ncorp.example {\n    errors\n}\n")
    assert resolve(c.state, "example.org", "prod").rcode == "REFUSED"
    assert resolve(c.state, "x.corp.example", "prod").rcode == "SERVFAIL"
    assert resolve(c.state, "kubernetes.default", "prod").ok


def test_forward_except_leaves_names_unanswered(cluster: OfflineCluster) -> None:
    cluster.edit_corefile(corefile().replace("forward . /etc/resolv.conf",
                                             "forward . /etc/resolv.conf {\n        except corp.internal\n    }"))
    assert resolve(cluster.state, "a.corp.internal", "prod").rcode == "SERVFAIL"
    assert resolve(cluster.state, "a.other.internal", "prod").rcode == "NXDOMAIN"


# ---------------------------------------------------------------- cache and kubernetes options
@pytest.mark.parametrize(("ttl_line", "cache_line", "seen"), [
    ("ttl 30", "cache 30", 30), ("ttl 5", "cache 30", 5), ("ttl 30", "cache 10", 10),
    ("ttl 30", "", 30), ("ttl 0", "cache 30", 5), ("", "", 5)])
def test_ttl_seen_is_the_kubernetes_ttl_capped_by_cache(cluster: OfflineCluster, ttl_line: str,
                                                        cache_line: str, seen: int) -> None:
    k = KUBERNETES.replace("ttl 30", ttl_line)
    cluster.edit_corefile(corefile(cache_line, kubernetes=k))
    assert resolve(cluster.state, "web", "prod").ttl == seen


@pytest.mark.parametrize(("mode", "real", "made_up"), [
    ("insecure", "NOERROR", "NOERROR"), ("verified", "NOERROR", "NXDOMAIN"), ("disabled", "NXDOMAIN", "NXDOMAIN")])
def test_pods_modes(cluster: OfflineCluster, mode: str, real: str, made_up: str) -> None:
    cluster.edit_corefile(corefile(kubernetes=KUBERNETES.replace("pods insecure", f"pods {mode}")))
    pod_ip = next(p.ip for p in cluster.state.pods_in("prod"))
    assert resolve(cluster.state, f"{pod_ip.replace('.', '-')}.prod.pod.cluster.local", "prod").rcode == real
    assert resolve(cluster.state, "10-99-99-99.prod.pod.cluster.local", "prod").rcode == made_up


# ---------------------------------------------------------------- what the model refuses
@pytest.mark.parametrize(("line", "words"), [
    ("template IN A example.org {\n    }", ["line 9", "template", "not modelled"]),
    ("rewrite type ANY HINFO", ["line 9", "rewrite", "name"]),
    ("autopath @kubernetes", ["line 9", "autopath"]),
])
def test_unmodelled_directives_are_refused_naming_plugin_and_line(cluster: OfflineCluster, line: str,
                                                                  words: list[str]) -> None:
    with pytest.raises(CorefileError) as err:
        cluster.edit_corefile(corefile(line))
    assert all(w in str(err.value) for w in words), str(err.value)
    assert cluster.corefile() == DEFAULT_COREFILE                       # nothing changed


def test_forward_to_an_unknown_resolver_is_refused_offline() -> None:
    with pytest.raises(CorefileError, match="line 2: forward to 8.8.8.8"):
        parse(".:53 {\n    forward . 8.8.8.8\n}\n")


@pytest.mark.parametrize("text", [".:53 {\n    errors\n", "}\n", ".:53 {\n}\n.:53 {\n}\n", ""])
def test_corefiles_coredns_would_not_load_are_refused(text: str) -> None:
    with pytest.raises(CorefileError):
        parse(text)


def test_the_live_backend_edits_only_the_courses_own_clusters() -> None:
    from grader.cluster.live import OWN_CONTEXTS, LiveCluster

    assert LOCAL_CONTEXT in OWN_CONTEXTS

    class Api:
        applied: list[dict] = []

        def get_object(self, obj: dict) -> dict:
            return {"data": {"Corefile": DEFAULT_COREFILE}}

        def server_side_apply(self, obj: dict) -> dict:
            self.applied.append(obj)
            return obj

        def list_pods(self, namespace: str, label_selector: str) -> tuple[list[dict], None]:
            return [{"metadata": {"name": "coredns-a"},
                     "status": {"conditions": [{"type": "Ready", "status": "True"}]}}], None

        def read_pod_log(self, namespace: str, name: str, since_seconds: int) -> str:
            return "[INFO] plugin/reload: Running configuration SHA512 = 9e1c\n"

    shared = LiveCluster(context="classroom", api=Api(), say=lambda line: None)  # type: ignore[arg-type]
    with pytest.raises(PermissionError, match="kubectl -n kube-system edit configmap coredns"):
        shared.edit_corefile("x")
    own = LiveCluster(context="kind-svclab", api=Api(), say=lambda line: None, progress=False)  # type: ignore[arg-type]
    assert own.edit_corefile(".:53 {\n}\n") == DEFAULT_COREFILE
    assert Api.applied[-1]["data"] == {"Corefile": ".:53 {\n}\n"}
    assert Api.applied[-1]["metadata"] == {"name": "coredns", "namespace": "kube-system"}


@pytest.mark.parametrize(("pattern", "why"), [
    (r"(.*)\1\.x\.$", "no backreferences"),             # Go regexp (RE2) syntax: CoreDNS would not load it
    (r"(?=web)(.*)\.x\.$", "no backreferences or lookarounds"),
    (r"(?<!a)b\.x\.$", "lookarounds"),
    (r"^(a+)+\.x\.$", "repeats a group"),                 # RE2 is linear; Python's re is not: refused
])
def test_rewrite_regexes_coredns_cannot_load_or_the_model_cannot_bound_are_refused(pattern: str, why: str) -> None:
    with pytest.raises(CorefileError, match=why):
        parse(f".:53 {{\n    rewrite name regex {pattern} web.prod.svc.cluster.local\n}}\n")


def test_a_corefile_that_does_not_load_leaves_the_last_one_running(cluster: OfflineCluster) -> None:
    """plugin/reload README: a new Corefile that fails to load is logged, and the running
    configuration stays. A file that loads but uses an unmodelled plugin is named instead."""
    cluster.edit_corefile(corefile("rewrite name exact x.y web.prod.svc.cluster.local"))
    system = cluster.namespace("kube-system")
    system.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns"},
                  "data": {"Corefile": ".:53 {\n    errors\n"}})               # an unclosed brace
    assert resolve(cluster.state, "x.y", "prod").addresses == [ip_of(cluster, "web")]
    system.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns"},
                  "data": {"Corefile": ".:53 {\n    template IN A x.y\n}\n"}})
    with pytest.raises(CorefileError, match="line 2: plugin 'template' is not modelled"):
        resolve(cluster.state, "x.y", "prod")
