"""Compile the pure-Python YAML reader's printable-character regex on first use, not when
`yaml` is imported.

Why: `import yaml` compiles `yaml.reader.Reader.NON_PRINTABLE`, a character class spanning
all of Unicode; building it is about 57 million instructions, 15% of everything
`svclab check` does for one file. svclab parses with libyaml's C reader, which checks
printable characters itself; the pure-Python reader runs only to word a syntax error. So
the console script (grader.cli, and only it: an importer of grader keeps Python's normal
behaviour) puts a stand-in into `re`'s cache under that pattern before yaml is imported:
yaml's `re.compile(...)` returns the stand-in, which compiles the same pattern the first
time it is used and behaves as the compiled pattern from then on.
"""
from __future__ import annotations

import re
import sys
from typing import Any

#: yaml.reader.Reader.NON_PRINTABLE's pattern (PyYAML 5 and 6), character for character.
YAML_NON_PRINTABLE = "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]"


class LazyPattern:
    """A compiled regular expression, compiled when an attribute is first asked for."""

    def __init__(self, pattern: str) -> None:
        self._source = pattern
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            # re.UNICODE is what a str pattern means anyway; as a flag it makes a cache key
            # of its own, so this compiles rather than finding the stand-in again.
            self._compiled = re.compile(self._source, re.UNICODE)
        return getattr(self._compiled, name)


def defer_yaml_printable_regex() -> bool:
    """Install the stand-in (see the module docstring). False, doing nothing, when yaml is
    already imported or `re` keeps no cache this can use."""
    cache = getattr(re, "_cache", None)
    if "yaml" in sys.modules or not isinstance(cache, dict):
        return False
    cache.setdefault((str, YAML_NON_PRINTABLE, 0), LazyPattern(YAML_NON_PRINTABLE))
    return True
