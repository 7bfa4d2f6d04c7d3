"""The `reload [INTERVAL [JITTER]]` line of a Corefile, read as CoreDNS's reload plugin reads it.

`reload` changes no answer, so the model treats it as a no-op; but CoreDNS refuses a whole
Corefile whose reload line it cannot read (more than two arguments, a value that is not a
Go duration, an interval under 2 s or a jitter under 1 s), and the interval decides how
long an edited Corefile takes to reach every replica. So the model reads the line, refuses
what CoreDNS refuses, and keeps the interval: the lab grader bounds it (a learner's
`reload 1h` would keep the grader from putting the original Corefile back).
"""
from __future__ import annotations

import re

#: CoreDNS's defaults and floors (plugin/reload): check every 30 s, +/- up to 15 s.
DEFAULT_INTERVAL = 30.0
MIN_INTERVAL = 2.0
MIN_JITTER = 1.0

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def go_duration(text: str) -> float | None:
    """Seconds in a Go duration ("2s", "1m30s", "1.5h", "500ms", "0"), or None where Go's
    time.ParseDuration would refuse it (no unit, an unknown unit, anything else)."""
    body = text[1:] if text[:1] in "+-" else text
    if not body:
        return None
    if body == "0":
        return 0.0
    seconds, at = 0.0, 0
    while at < len(body):
        found = _PART.match(body, at)
        if found is None:
            return None
        seconds += float(found.group(1)) * _UNITS[found.group(2)]
        at = found.end()
    return -seconds if text.startswith("-") else seconds


def reload_interval(words: tuple[str, ...], number: int, error: type[ValueError]) -> float:
    """The interval of a `reload` line (`words` includes "reload"), in seconds; raises
    `error` naming line `number` for a line CoreDNS would not load."""
    args = words[1:]
    if len(args) > 2:
        raise error(f"line {number}: reload takes at most an interval and a jitter, not {len(args)} values")
    values = []
    for what, text in zip(("interval", "jitter"), args, strict=False):
        value = go_duration(text)
        if value is None:
            raise error(f"line {number}: reload {what} {text!r} is not a duration "
                        "(write it as 2s, 30s or 1m)")
        values.append(value)
    interval = values[0] if values else DEFAULT_INTERVAL
    if interval < MIN_INTERVAL:
        raise error(f"line {number}: reload interval {args[0]}: CoreDNS checks at most every 2s")
    if len(values) > 1 and values[1] < MIN_JITTER:
        raise error(f"line {number}: reload jitter {args[1]}: CoreDNS needs at least 1s")
    return interval
