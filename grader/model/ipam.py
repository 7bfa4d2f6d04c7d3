"""Deterministic address and port allocation for the offline model.

A real cluster allocates Service IPs and NodePorts at random and pod IPs in arrival order,
so two runs of the same notebook print different numbers. Here every allocation is a hash
of the owner's key (probing linearly on collision), which keeps a notebook's output stable
across reruns while still behaving like an allocator: a taken value cannot be handed out
twice, and asking for a specific taken value is an error, as it is for the API server.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable

try:
    # CPython's own SHA-256 (the module hashlib itself falls back on): the same digests
    # without loading OpenSSL, which hashlib does first, 4 ms of every `svclab matrix`.
    # Where it is missing (it is _sha2 from Python 3.12), hashlib's is used.
    from _sha256 import sha256
except ImportError:  # pragma: no cover - other Pythons
    from hashlib import sha256

#: The alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes),
#: see `utilrand.String` / `rand.SafeEncodeString` in k8s.io/apimachinery.
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def stable_int(*parts: str) -> int:
    """A 64-bit integer derived only from `parts` (never from time or randomness)."""
    digest = sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def safe_encode(*parts: str, length: int) -> str:
    """`length` characters of NAME_ALPHABET derived from `parts`, like the pod-template-hash
    and the random suffix of generated pod names, but reproducible."""
    digest = sha256("\x01".join(parts).encode()).digest()
    n = int.from_bytes(digest, "big")
    out = []
    for _ in range(length):
        n, r = divmod(n, len(NAME_ALPHABET))
        out.append(NAME_ALPHABET[r])
    return "".join(out)


class AllocationError(ValueError):
    """A requested value is taken or outside the pool. The message is the caller's to word."""


class IntPool:
    """Integers in [low, high] handed out per owner key: hashed first choice, linear probing.

    `dynamic_low` lets callers keep a lower band for explicit requests, as the API server
    does for Service IPs and NodePorts (dynamic allocation prefers the upper band so that
    hand-picked values rarely collide with automatic ones).
    """

    def __init__(self, low: int, high: int, *, dynamic_low: int | None = None,
                 excluded: Iterable[int] = ()) -> None:
        self.low, self.high = low, high
        self.dynamic_low = low if dynamic_low is None else dynamic_low
        self.excluded = frozenset(excluded)
        self.by_key: dict[str, int] = {}
        self.by_value: dict[int, str] = {}

    def __contains__(self, value: int) -> bool:
        return self.low <= value <= self.high and value not in self.excluded

    def get(self, key: str) -> int | None:
        return self.by_key.get(key)

    def allocate(self, key: str) -> int:
        """The value already held by `key`, or a new one derived from `key`."""
        if key in self.by_key:
            return self.by_key[key]
        return self._take(key, self.next_free(key))

    def next_free(self, seed: str) -> int:
        """The free value an allocation seeded by `seed` would get (nothing is taken)."""
        size = self.high - self.dynamic_low + 1
        start = stable_int(seed) % size
        for i in range(size):
            value = self.dynamic_low + (start + i) % size
            if value not in self.by_value and value not in self.excluded:
                return value
        # the dynamic band is full: fall back to the whole range, as the API server does
        for value in range(self.low, self.high + 1):
            if value not in self.by_value and value not in self.excluded:
                return value
        raise AllocationError("range is full")

    def reserve(self, key: str, value: int) -> int:
        """Give `key` exactly `value`; AllocationError if outside the pool or held by another."""
        if value not in self:
            raise AllocationError("not in the valid range")
        holder = self.by_value.get(value)
        if holder is not None and holder != key:
            raise AllocationError("already allocated")
        if self.by_key.get(key) not in (None, value):
            self.release(key)
        return self._take(key, value)

    def release(self, key: str) -> None:
        value = self.by_key.pop(key, None)
        if value is not None:
            self.by_value.pop(value, None)

    def _take(self, key: str, value: int) -> int:
        self.by_key[key] = value
        self.by_value[value] = key
        return value


class SequentialPool(IntPool):
    """Lowest free value first: how Docker's IPAM hands out container addresses, hence how
    cloud-provider-kind's Envoy containers (and so LoadBalancer IPs) get theirs."""

    def allocate(self, key: str) -> int:
        if key in self.by_key:
            return self.by_key[key]
        for value in range(self.dynamic_low, self.high + 1):
            if value not in self.by_value and value not in self.excluded:
                return self._take(key, value)
        raise AllocationError("pool is exhausted")


class IPPool:
    """An IPv4 pool over a CIDR (or an explicit first..last range) backed by an IntPool."""

    def __init__(self, cidr: str, *, dynamic_offset: int = 1, last: str | None = None,
                 sequential: bool = False) -> None:
        self.network = ipaddress.ip_network(cidr)
        base = int(self.network.network_address)
        high = int(ipaddress.ip_address(last)) if last else int(self.network.broadcast_address) - 1
        cls = SequentialPool if sequential else IntPool
        self.ints = cls(base + 1, high, dynamic_low=base + dynamic_offset)

    def __contains__(self, ip: str) -> bool:
        try:
            return int(ipaddress.ip_address(ip)) in self.ints
        except ValueError:
            return False

    def get(self, key: str) -> str | None:
        v = self.ints.get(key)
        return None if v is None else str(ipaddress.ip_address(v))

    def allocate(self, key: str) -> str:
        return str(ipaddress.ip_address(self.ints.allocate(key)))

    def reserve(self, key: str, ip: str) -> str:
        try:
            value = int(ipaddress.ip_address(ip))
        except ValueError as exc:
            raise AllocationError("not a valid IP") from exc
        return str(ipaddress.ip_address(self.ints.reserve(key, value)))

    def release(self, key: str) -> None:
        self.ints.release(key)
