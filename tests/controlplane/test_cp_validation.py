"""Validation, differential: every accept/reject case of tests/rules/test_rules_upstream.py is sent
to the real API server as a dry-run create, and its verdict must be ours.

The cases cite the upstream functions that decide them; here upstream itself decides. Where
the API server names field paths (a 422's details.causes) the case's expected path must be
among them, so "refused, but for another reason" is a disagreement too.
"""
from __future__ import annotations

import copy
from typing import Iterator

import pytest

from grader.manifests import check
from tests.controlplane.upstream import ControlPlane
from tests.rules.test_rules_upstream import CASES, COURSE_MANIFESTS

pytestmark = pytest.mark.controlplane

NS = "cp-validation"

#: kind -> URL of its namespaced collection, "{ns}" filled in
COLLECTIONS = {
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Service": "/api/v1/namespaces/{ns}/services",
    "Pod": "/api/v1/namespaces/{ns}/pods",
    "Endpoints": "/api/v1/namespaces/{ns}/endpoints",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "NetworkPolicy": "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
    "Ingress": "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
    "EndpointSlice": "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
}


@pytest.fixture(scope="module")
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    """A plain namespace (no Pod Security label: privileged, as kind's default), so only
    validation decides; dry runs store nothing in it."""
    code, body = control_plane.request("POST", "/api/v1/namespaces",
                                       {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    assert code in (201, 409), body
    yield NS
    control_plane.request("DELETE", f"/api/v1/namespaces/{NS}")


def server_verdict(cp: ControlPlane, namespace: str, manifest: dict, *,
                   dry_run: bool = True) -> tuple[int, str, list[str]]:
    """(HTTP status, message, field paths named) for a create of `manifest`: a dry run, or a
    real create that is deleted again at once."""
    obj = copy.deepcopy(manifest)
    ns = (obj.get("metadata") or {}).get("namespace") or namespace
    collection = COLLECTIONS[obj["kind"]].format(ns=ns)
    query = "?fieldValidation=Strict" + ("&dryRun=All" if dry_run else "")
    code, body = cp.request("POST", collection + query, obj)
    if code == 201 and not dry_run:
        cp.request("DELETE", f"{collection}/{body['metadata']['name']}")
    fields = [c.get("field", "") for c in (body.get("details") or {}).get("causes") or []]
    return code, str(body.get("message", "")), fields


#: Cases a dry run accepts although the real create refuses them. The NodePort allocator
#: checks the range only when it really allocates (pkg/registry/core/service/portallocator
#: operation.go: a dry-run Allocate only asks "is it taken?"), so a server-side dry run
#: cannot be relied on for this; our own rule refuses it before anything is sent.
DRY_RUN_BLIND = {"svc-nodeport-range"}


@pytest.mark.parametrize("name,manifest,path", CASES, ids=[c[0] for c in CASES])
def test_api_server_agrees(name, manifest, path, control_plane: ControlPlane, namespace: str):
    ours = [p.path for p in check(manifest)[1]]
    code, message, fields = server_verdict(control_plane, namespace, manifest)
    if name in SSA_ONLY:
        assert code == 201 and ours, f"a create accepts this with a warning ({code}: {message}); we refuse {ours}"
        return
    if name in DRY_RUN_BLIND:
        assert code == 201, f"the dry run now refuses this too ({code}: {message}): drop it from DRY_RUN_BLIND"
        code, message, fields = server_verdict(control_plane, namespace, manifest, dry_run=False)
    assert code in (200, 201, 400, 404, 422), f"unexpected answer {code}: {message}"
    server_refuses = code >= 400
    if path is None:
        assert not server_refuses, f"the case says accepted, the API server refuses ({code}): {message}"
        assert ours == [], f"the API server accepts this, we report {ours}"
        return
    assert server_refuses, f"the case says refused at {path}, the API server accepts it"
    assert ours, f"the API server refuses this ({message}), we accept it"
    if code == 404:     # a namespace that cannot exist is refused before validation
        assert path == "metadata.namespace" and "namespace" in message.lower(), message
        return
    if fields:
        assert path in fields, f"the API server names {fields} ({message}), the case expects {path}"
        assert set(ours) & set(fields), f"we name {ours}, the API server {fields} ({message})"


def server_side_apply_verdict(cp: ControlPlane, namespace: str, manifest: dict) -> tuple[int, str]:
    """(HTTP status, message) for a dry-run server-side apply, what the live backend sends."""
    obj = copy.deepcopy(manifest)
    ns = (obj.get("metadata") or {}).get("namespace") or namespace
    name = (obj.get("metadata") or {}).get("name") or "unnamed"
    url = (COLLECTIONS[obj["kind"]].format(ns=ns) + f"/{name}?dryRun=All&fieldManager=svclab"
           "&force=true&fieldValidation=Strict")
    code, body = cp.request("PATCH", url, obj, content_type="application/apply-patch+yaml")
    return code, str(body.get("message", ""))


#: Cases a create accepts (with a warning) but server-side apply refuses: structured-merge-
#: diff rejects duplicate keys in associative lists before validation runs. The live backend
#: applies server-side, so our rules refuse them (grader/rules/workloads.py).
SSA_ONLY = {"pod-duplicate-container-port-ssa", "pod-duplicate-env-ssa"}


@pytest.mark.parametrize("name,manifest,path", CASES, ids=[c[0] for c in CASES])
def test_server_side_apply_agrees(name, manifest, path, control_plane: ControlPlane, namespace: str):
    """The live backend applies with server-side apply: its verdicts must be the same."""
    if name in DRY_RUN_BLIND or "generateName" in (manifest.get("metadata") or {}):
        pytest.skip("decided only by a real create (see DRY_RUN_BLIND) / apply needs a name")
    ours = [p.path for p in check(manifest)[1]]
    code, message = server_side_apply_verdict(control_plane, namespace, manifest)
    refuses = code >= 400
    assert refuses == bool(ours), (f"server-side apply {'refuses' if refuses else 'accepts'} "
                                   f"({code}: {message}); we report {ours}")


def test_course_manifests_are_accepted_by_the_api_server(control_plane: ControlPlane, namespace: str):
    """The realistic course manifests that our rules accept, the API server accepts too."""
    manifests, problems = check(COURSE_MANIFESTS)
    assert problems == []
    refused = []
    for m in manifests:
        if m.kind == "Namespace":
            continue
        obj = copy.deepcopy(m.obj)
        obj["metadata"].pop("namespace", None)
        code, message, _ = server_verdict(control_plane, namespace, obj)
        if code >= 400:
            refused.append(f"{m.kind}/{m.name}: {code} {message}")
    assert refused == []
