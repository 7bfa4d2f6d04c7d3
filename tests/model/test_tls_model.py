"""HTTPS in the offline model, against upstream's documented behaviour. Sources, named per test:
- Gateway API v1.5.1 apis/v1/gateway_types.go: GatewayTLSConfig.certificateRefs, the listener
  reasons InvalidCertificateRef and RefNotPermitted, GatewayReasonListenersNotValid ("True or
  False, depending on whether the listener being invalid causes the entire Gateway to not be
  accepted"); conformance test GatewayInvalidTLSConfiguration (nonexistent Secret, unsupported
  group or kind, malformed Secret: ResolvedRefs False / InvalidCertificateRef).
- Gateway API apis/v1/httproute_types.go: HTTPRequestRedirectFilter (scheme, statusCode,
  no port in Location for https:443); conformance HTTPRouteRedirectScheme.
- Kubernetes docs, "Ingress" > TLS: a kubernetes.io/tls Secret with tls.crt and tls.key;
  hosts multiplexed on port 443 by SNI. cloud-provider-kind pkg/ingress/README.md: every
  secretName of the namespace on ONE HTTPS listener of the namespace's Gateway.
- Kubernetes docs, "Secrets" > TLS Secrets: type kubernetes.io/tls needs tls.crt and tls.key.
- RFC 6125 6.4.3: a `*` in a certificate name covers exactly one label.
The certificates are grader.labs.tls_fixtures' test fixtures (self-signed, of no value)."""
from __future__ import annotations

from typing import Any

import pytest

from grader.cluster.offline import OfflineCluster
from grader.labs.tls_fixtures import FIXTURE_PAIRS, tls_secret
from grader.manifests import ManifestError
from grader.model.errors import NotModelled
from grader.model.tls import dns_names, name_covers
from grader.observations import Status
from tests.model.test_gateway_model import gateway, route, rule, to
from tests.model.test_ingress_model import app

SHOP, BLOG = "shop.example", "blog.example"


def https(name: str, secret: str | None, hostname: str | None = None, **ref: Any) -> dict[str, Any]:
    listener: dict[str, Any] = {"name": name, "port": 443, "protocol": "HTTPS"}
    if hostname:
        listener["hostname"] = hostname
    if secret is not None:
        listener["tls"] = {"mode": "Terminate", "certificateRefs": [{"name": secret, **ref}]}
    return listener


HTTP = {"name": "http", "port": 80, "protocol": "HTTP"}


@pytest.fixture
def env():
    cluster = OfflineCluster()
    ns = cluster.namespace("shop")
    ns.apply_objects([o for n in ("web", "blog") for o in app(n)])
    ns.apply(tls_secret("shop-tls", SHOP) + "---\n" + tls_secret("blog-tls", BLOG))
    return cluster, ns


def _listener(ns: Any, gw: str, name: str) -> dict[str, tuple[str, str]]:
    ls = ns.gateway_status(gw).listener(name)
    return {c.type: (c.status, c.reason) for c in ls.conditions}


def _gw_conditions(ns: Any, gw: str = "gw") -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in ns.gateway_status(gw).conditions}


# ---------------------------------------------------------------- certificates
def test_certificate_names_are_read_from_the_subject_alt_name():
    assert dns_names(FIXTURE_PAIRS[SHOP][0]) == (SHOP,)
    assert dns_names(FIXTURE_PAIRS[BLOG][0]) == (BLOG,)


@pytest.mark.parametrize("cert, host, covered", [
    ("*.example.com", "a.example.com", True),
    ("*.example.com", "a.b.example.com", False),        # RFC 6125: one label only
    ("*.example.com", "example.com", False),
    ("Shop.Example", "shop.example", True),
])
def test_wildcard_certificate_names_cover_one_label(cert, host, covered):
    assert name_covers(cert, host) is covered


# ---------------------------------------------------------------- Gateway listener status
def test_a_valid_https_listener_resolves_and_serves_with_its_certificate(env):
    _, ns = env
    ns.apply([gateway(listeners=[HTTP, https("https", "shop-tls")]), route("r", [rule(to("web"))])])
    assert _listener(ns, "gw", "https") == {"Accepted": ("True", "Accepted"),
                                            "ResolvedRefs": ("True", "ResolvedRefs"),
                                            "Programmed": ("True", "Programmed")}
    assert _gw_conditions(ns)["Accepted"] == ("True", "Accepted")
    r = ns.http(ns.gateway_address("gw"), "/hostname", host=SHOP, scheme="https")
    assert (r.code, r.certificate) == (200, "shop/shop-tls")
    assert r.pod and r.pod.startswith("shop/web-")


@pytest.mark.parametrize("ref, secret_name", [
    ({}, "missing"),                                  # conformance: nonexistent Secret
    ({"group": "wrong.group.company.io"}, "shop-tls"),  # unsupported group
    ({"kind": "WrongKind"}, "shop-tls"),              # unsupported kind
])
def test_an_unresolvable_certificate_ref_is_invalid_certificate_ref(env, ref, secret_name):
    """GatewayInvalidTLSConfiguration; and with an HTTP listener still valid, the Gateway is
    Accepted=True with reason ListenersNotValid (v1.5 GatewayReasonListenersNotValid)."""
    _, ns = env
    ns.apply_objects([gateway(listeners=[HTTP, https("https", secret_name, **ref)])])
    conds = _listener(ns, "gw", "https")
    assert conds["ResolvedRefs"] == ("False", "InvalidCertificateRef")
    assert conds["Programmed"] == ("False", "Invalid")
    assert _gw_conditions(ns)["Accepted"] == ("True", "ListenersNotValid")
    r = ns.http(ns.gateway_address("gw"), "/", host=SHOP, scheme="https")
    assert r.status is Status.REFUSED


def test_a_secret_of_the_wrong_type_is_invalid_certificate_ref(env):
    """Core support is "a Kubernetes Secret of type kubernetes.io/tls" (certificateRefs)."""
    _, ns = env
    crt, key = FIXTURE_PAIRS[SHOP]
    ns.apply_objects([{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "opaque"},
                       "type": "Opaque", "stringData": {"tls.crt": crt, "tls.key": key}},
                      gateway(listeners=[https("https", "opaque")])])
    assert _listener(ns, "gw", "https")["ResolvedRefs"] == ("False", "InvalidCertificateRef")
    assert "type Opaque" in ns.gateway_status("gw").listener("https").condition("ResolvedRefs").message


def test_a_malformed_tls_secret_is_invalid_certificate_ref(env):
    _, ns = env
    ns.apply_objects([{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "junk"},
                       "type": "kubernetes.io/tls", "stringData": {"tls.crt": "junk", "tls.key": "junk"}},
                      gateway(listeners=[https("https", "junk")])])
    assert _listener(ns, "gw", "https")["ResolvedRefs"] == ("False", "InvalidCertificateRef")


def test_with_no_valid_listener_the_gateway_is_not_accepted(env):
    """ListenersNotValid with status False when the invalid listeners leave nothing valid;
    a Gateway that is not Accepted is not Programmed."""
    _, ns = env
    ns.apply_objects([gateway(listeners=[https("https", "missing")])])
    assert _gw_conditions(ns) == {"Accepted": ("False", "ListenersNotValid"),
                                  "Programmed": ("False", "Invalid")}


def test_a_secret_in_another_namespace_needs_a_reference_grant(env):
    """certificateRefs: "References to a resource in different namespace are invalid UNLESS
    there is a ReferenceGrant in the target namespace"; else RefNotPermitted."""
    cluster, ns = env
    certs = cluster.namespace("certs")
    certs.apply(tls_secret("shop-tls", SHOP))
    ns.apply_objects([gateway(listeners=[https("https", "shop-tls", namespace="certs")])])
    assert _listener(ns, "gw", "https")["ResolvedRefs"] == ("False", "RefNotPermitted")
    certs.apply({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
                 "metadata": {"name": "gw-certs"},
                 "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "shop"}],
                          "to": [{"group": "", "kind": "Secret"}]}})
    assert _listener(ns, "gw", "https")["ResolvedRefs"] == ("True", "ResolvedRefs")


# ---------------------------------------------------------------- SNI and redirect
def test_sni_picks_the_listener_and_so_the_certificate(env):
    """Two HTTPS listeners on 443, one hostname each: the handshake's SNI chooses; a name no
    listener takes gets no handshake at all (Envoy's filter chain match; curl error 35)."""
    _, ns = env
    ns.apply([gateway(listeners=[https("s", "shop-tls", SHOP), https("b", "blog-tls", BLOG)]),
              route("shop", [rule(to("web"))], [SHOP]), route("blog", [rule(to("blog"))], [BLOG])])
    addr = ns.gateway_address("gw")
    shop = ns.http(addr, "/hostname", host=SHOP, scheme="https")
    blog = ns.http(addr, "/hostname", host=BLOG, scheme="https")
    assert (shop.certificate, blog.certificate) == ("shop/shop-tls", "shop/blog-tls")
    assert shop.pod.startswith("shop/web-") and blog.pod.startswith("shop/blog-")
    other = ns.http(addr, "/", host="admin.example", scheme="https")
    assert other.status is Status.REFUSED and "SNI 'admin.example'" in other.reason


def test_one_listener_with_two_certificates_presents_the_one_covering_the_sni(env):
    """Several certificates on one listener (implementation-specific): Envoy presents the one
    whose names match the SNI, else the first."""
    _, ns = env
    listener = https("https", "shop-tls")
    listener["tls"]["certificateRefs"].append({"name": "blog-tls"})
    ns.apply([gateway(listeners=[listener]), route("r", [rule(to("web"))])])
    addr = ns.gateway_address("gw")
    assert ns.http(addr, "/", host=BLOG, scheme="https").certificate == "shop/blog-tls"
    assert ns.http(addr, "/", host="other.example", scheme="https").certificate == "shop/shop-tls"


def test_http_to_https_redirect_is_a_301_without_the_default_port(env):
    """HTTPRequestRedirectFilter: scheme https with no port gives 443, left out of Location."""
    _, ns = env
    redirect = {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
    ns.apply([gateway(listeners=[HTTP, https("https", "shop-tls")]),
              route("redirect", [{"filters": [redirect]}], parent={"name": "gw", "sectionName": "http"}),
              route("app", [rule(to("web"))], parent={"name": "gw", "sectionName": "https"})])
    addr = ns.gateway_address("gw")
    r = ns.http(addr, "/a/b?x=1", host=SHOP)
    assert (r.code, r.header("Location")) == (301, "https://shop.example/a/b?x=1")
    assert ns.http(addr, "/a/b", host=SHOP, scheme="https").code == 200


def test_plain_http_to_a_tls_port_and_tls_to_a_plain_port_fail_as_curl_reports(env):
    _, ns = env
    ns.apply([gateway(listeners=[HTTP, https("https", "shop-tls")]), route("r", [rule(to("web"))])])
    addr = ns.gateway_address("gw")
    assert "error 52" in ns.http(addr, "/", host=SHOP, port=443).reason
    assert "error 35" in ns.http(addr, "/", host=SHOP, scheme="https", port=80).reason


# ---------------------------------------------------------------- Ingress TLS
def _ingress(tls: list[dict[str, Any]]) -> dict[str, Any]:
    rules = [{"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": svc, "port": {"number": 80}}}}]}} for h, svc in ((SHOP, "web"), (BLOG, "blog"))]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "site"},
            "spec": {"tls": tls, "rules": rules}}


def test_ingress_tls_serves_each_host_on_443_with_the_certificate_covering_it(env):
    _, ns = env
    ns.apply(_ingress([{"hosts": [SHOP], "secretName": "shop-tls"}, {"hosts": [BLOG], "secretName": "blog-tls"}]))
    addr = ns.ingress_address("site")
    shop = ns.http(addr, "/hostname", host=SHOP, scheme="https")
    blog = ns.http(addr, "/hostname", host=BLOG, scheme="https")
    assert (shop.code, shop.certificate) == (200, "shop/shop-tls")
    assert (blog.code, blog.certificate) == (200, "shop/blog-tls")
    assert blog.pod.startswith("shop/blog-")
    assert ns.http(addr, "/", host=SHOP).code == 200          # port 80 still serves


def test_an_ingress_without_tls_does_not_listen_on_443(env):
    _, ns = env
    ns.apply(_ingress([]))
    r = ns.http(ns.ingress_address("site"), "/", host=SHOP, scheme="https")
    assert r.status is Status.REFUSED and "spec.tls" in r.reason


def test_an_ingress_tls_secret_that_is_missing_closes_443_but_not_80(env):
    """cloud-provider-kind: one HTTPS listener for the namespace; a Secret it cannot resolve
    leaves that listener unprogrammed (InvalidCertificateRef)."""
    _, ns = env
    ns.apply(_ingress([{"hosts": [SHOP], "secretName": "nope"}]))
    addr = ns.ingress_address("site")
    r = ns.http(addr, "/", host=SHOP, scheme="https")
    assert r.status is Status.REFUSED and "Secret shop/nope not found" in r.reason
    assert ns.http(addr, "/", host=SHOP).code == 200


# ---------------------------------------------------------------- what is not modelled
def test_per_backend_ref_filters_are_refused_in_status_not_ignored(env):
    """The model does not implement backendRefs[].filters, so the route is Accepted=False
    with UnsupportedValue (the spec's reason for a filter an implementation cannot honour)
    instead of serving without them."""
    _, ns = env
    header = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "x", "value": "1"}]}}
    ns.apply([gateway(), route("r", [rule(to("web", filters=[header]))])])
    [parent] = ns.route_status("r")
    assert (parent.condition("Accepted").status, parent.condition("Accepted").reason) == ("False", "UnsupportedValue")
    assert "backendRefs[0].filters" in parent.condition("Accepted").message
    assert ns.http(ns.gateway_address("gw"), "/").code == 404


@pytest.mark.parametrize("extra", [
    {"timeouts": {"request": "1s"}},
    {"filters": [{"type": "CORS", "cors": {"allowOrigins": ["https://a.example"]}}]},
])
def test_timeouts_and_cors_say_not_modelled_instead_of_answering(env, extra):
    _, ns = env
    ns.apply([gateway(), route("r", [{**rule(to("web")), **extra}])])
    with pytest.raises(NotModelled, match="not modelled"):
        ns.http(ns.gateway_address("gw"), "/")


# ---------------------------------------------------------------- validation and sandbox
def test_a_tls_secret_needs_both_keys(env):
    """Secrets > TLS Secrets: the API server refuses kubernetes.io/tls without tls.key."""
    _, ns = env
    with pytest.raises(ManifestError, match=r"tls\.key"):
        ns.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "half"},
                  "type": "kubernetes.io/tls", "stringData": {"tls.crt": FIXTURE_PAIRS[SHOP][0]}})


def test_https_passthrough_is_refused_by_the_crd(env):
    _, ns = env
    listener = https("https", "shop-tls")
    listener["tls"]["mode"] = "Passthrough"
    with pytest.raises(ManifestError, match="tls mode must be Terminate for protocol HTTPS"):
        ns.apply(gateway(listeners=[listener]))


def test_a_lab_may_create_tls_secrets_and_no_other_secret(env):
    _, ns = env
    with pytest.raises(ManifestError, match="only Secrets of type 'kubernetes.io/tls'"):
        ns.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
                  "stringData": {"password": "x"}})
