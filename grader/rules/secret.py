"""What the API server refuses in a Secret (k8s.io/kubernetes pkg/apis/core/validation,
ValidateSecret): key syntax, as for ConfigMaps, and the keys a typed Secret must carry:
`kubernetes.io/tls` needs `tls.crt` and `tls.key` (the Secrets concept page, "TLS Secrets").
The course only uses TLS Secrets, for Ingress and Gateway certificates."""
from __future__ import annotations

from grader.k8s.fields import Issue, join_key, mapping, quote
from grader.rules.names import configmap_key_problem

TLS_KEYS = ("tls.crt", "tls.key")


def secret_issues(obj: dict) -> list[Issue]:
    out: list[Issue] = []
    data, string_data = mapping(obj.get("data")), mapping(obj.get("stringData"))
    for field, values in (("data", data), ("stringData", string_data)):
        for key in values:
            why = configmap_key_problem(key)
            if why:
                out.append((join_key(field, key), f"key {quote(key)} is invalid: {why}"))
    if obj.get("type") == "kubernetes.io/tls":
        for key in TLS_KEYS:
            if key not in data and key not in string_data:
                out.append((join_key("data", key), "Required value"))
    return out
