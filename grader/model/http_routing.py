"""HTTP request matching shared by the Ingress and Gateway API models: pure functions over
strings, no cluster state, so every rule can be pinned by a one-line test.

Two host-matching rules exist on purpose, because the two APIs disagree:
- Ingress v1 (`ingress_host_matches`): a leading `*.` matches exactly ONE DNS label:
  `*.foo.com` matches `bar.foo.com`, not `baz.bar.foo.com` nor `foo.com`.
- Gateway API v1 (`gateway_host_matches`): `*.` is a suffix match: `*.example.com`
  matches `test.example.com` and `foo.test.example.com`, not `example.com`.

Path matching follows both specs (they agree): `Exact` is a case-sensitive string
comparison; `Prefix` (Ingress) and `PathPrefix` (Gateway API) compare path elements split
on `/`, ignore a trailing `/` on the prefix, and never match part of an element (`/foo`
matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class HttpRequest:
    """One request as the proxy sees it. `host` has no port (both APIs ignore it); header
    names are kept as given and compared case-insensitively."""

    host: str
    path: str = "/"                          # without the query string
    query: tuple[tuple[str, str], ...] = ()
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    port: int = 80

    @classmethod
    def build(cls, host: str, target: str = "/", method: str = "GET",
              headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
              port: int = 80) -> "HttpRequest":
        """From what a learner types: a path with an optional query ("/echo?msg=hi")."""
        parts = urlsplit(target if target.startswith("/") else "/" + target)
        pairs = tuple(headers.items()) if isinstance(headers, Mapping) else tuple(headers or ())
        return cls(host=strip_port(host).lower(), path=parts.path or "/",
                   query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
                   method=method.upper(), headers=tuple((str(k), str(v)) for k, v in pairs), port=port)

    @property
    def target(self) -> str:
        """Path plus query string, as sent on the request line."""
        if not self.query:
            return self.path
        from urllib.parse import urlencode
        return f"{self.path}?{urlencode(self.query)}"

    def header(self, name: str) -> str | None:
        """The first value of a header (names are case-insensitive, RFC 9110)."""
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)

    def query_value(self, name: str) -> str | None:
        """The first value of a query parameter (names are case-sensitive)."""
        return next((v for k, v in self.query if k == name), None)


@dataclass
class Headers:
    """An ordered, case-insensitive header list that filters can set, add and remove."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self.items.append((name, value))

    def add(self, name: str, value: str) -> None:
        """Append to an existing header's value (comma-joined, as the spec's example
        `my-header: foo,bar`), or add it."""
        low = name.lower()
        for i, (k, v) in enumerate(self.items):
            if k.lower() == low:
                self.items[i] = (k, f"{v},{value}")
                return
        self.items.append((name, value))

    def remove(self, name: str) -> None:
        low = name.lower()
        self.items = [(k, v) for k, v in self.items if k.lower() != low]

    def get(self, name: str) -> str | None:
        low = name.lower()
        return next((v for k, v in self.items if k.lower() == low), None)


def strip_port(host: str) -> str:
    """"foo.com:8080" -> "foo.com"; a bracketed IPv6 literal keeps its brackets off."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


# ---------------------------------------------------------------- hosts
def ingress_host_matches(rule_host: str, host: str) -> bool:
    """Ingress v1: exact (case-insensitive), or `*.suffix` matching exactly one label."""
    rule_host, host = rule_host.lower(), host.lower()
    if rule_host.startswith("*."):
        first, dot, rest = host.partition(".")
        return bool(first) and bool(dot) and rest == rule_host[2:]
    return rule_host == host


def gateway_host_matches(pattern: str, host: str) -> bool:
    """Gateway API v1: exact, or `*.suffix` matching any number (>= 1) of labels."""
    pattern, host = pattern.lower(), host.lower()
    if pattern.startswith("*."):
        suffix = pattern[1:]                    # ".example.com"
        return host.endswith(suffix) and len(host) > len(suffix)
    return pattern == host


def intersect_hostnames(listener: str | None, route: Iterable[str]) -> list[str]:
    """The hostnames an HTTPRoute serves on a listener (HTTPRouteSpec.hostnames):
    - a listener without hostname takes the route's hostnames (all, or "*" when none);
    - a route without hostnames takes the listener's;
    - otherwise each route hostname that matches the listener's, the more specific of the
      two being kept (`*.example.com` on listener `foo.example.com` -> `foo.example.com`;
      `foo.example.com` on listener `*.example.com` -> `foo.example.com`).
    Empty list: no intersection (the route is not Accepted: NoMatchingListenerHostname)."""
    route = [h.lower() for h in route]
    if not listener:
        return route or ["*"]
    listener = listener.lower()
    if not route:
        return [listener]
    out: list[str] = []
    for h in route:
        if h == listener:
            out.append(h)
        elif listener.startswith("*.") and gateway_host_matches(listener, h.removeprefix("*.")
                                                                 if h.startswith("*.") else h):
            # route is more specific than the wildcard listener (a name, or a longer wildcard)
            if not h.startswith("*.") or len(h) > len(listener):
                out.append(h)
        elif h.startswith("*.") and not listener.startswith("*.") and gateway_host_matches(h, listener):
            out.append(listener)
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------- paths
def _elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e != ""]


def prefix_matches(prefix: str, path: str) -> bool:
    """Element-wise prefix match (Ingress `Prefix`, Gateway API `PathPrefix`)."""
    want = _elements(prefix)
    have = _elements(path)
    return have[:len(want)] == want


def exact_matches(value: str, path: str) -> bool:
    return value == path


def replace_prefix(path: str, prefix: str, replacement: str) -> str:
    """Gateway API ReplacePrefixMatch, element-wise, per the table in HTTPPathModifier:
    /foo/bar with prefix /foo and replacement /xyz -> /xyz/bar; "" or "/" -> /bar."""
    rest = _elements(path)[len(_elements(prefix)):]
    trailing = path.endswith("/") and len(path) > 1
    base = replacement.rstrip("/")
    if not rest:
        if not base:
            return "/"
        return base + ("/" if trailing else "")
    return f"{base}/{'/'.join(rest)}" + ("/" if trailing else "")
