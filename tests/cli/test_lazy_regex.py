"""grader.lazy_regex: yaml's printable-character regex compiled on first use, with the
same answers as compiled at import."""
from __future__ import annotations

import re
import subprocess
import sys

from grader.lazy_regex import YAML_NON_PRINTABLE, LazyPattern, defer_yaml_printable_regex

SAMPLES = ["plain text", "tab\there", "bell\x07", "nul\x00", "emoji \U0001F600", "\ufffe", "\x85 next line"]


def test_a_lazy_pattern_answers_as_the_compiled_one() -> None:
    lazy, real = LazyPattern(YAML_NON_PRINTABLE), re.compile(YAML_NON_PRINTABLE)
    for s in SAMPLES:
        a, b = lazy.search(s), real.search(s)
        assert (a and a.span()) == (b and b.span()), s
    assert lazy.pattern == real.pattern


def test_nothing_is_deferred_once_yaml_is_imported() -> None:
    import yaml  # noqa: F401 - the point: it is imported already
    assert defer_yaml_printable_regex() is False


def _pure_python_reader_says(defer: bool) -> str:
    code = (
        "import sys\n"
        + ("from grader.lazy_regex import defer_yaml_printable_regex; assert defer_yaml_printable_regex()\n" if defer else "")
        + "import yaml\n"
        "print(type(yaml.reader.Reader.NON_PRINTABLE).__name__)\n"
        "try:\n"
        "    yaml.load('a: b\\x07', Loader=yaml.SafeLoader)\n"
        "except yaml.YAMLError as e:\n"
        "    print(str(e).replace(chr(10), ' | '))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_the_pure_python_reader_words_errors_as_before() -> None:
    deferred, normal = _pure_python_reader_says(True), _pure_python_reader_says(False)
    assert deferred.splitlines()[0] == "LazyPattern" and normal.splitlines()[0] == "Pattern"
    assert deferred.splitlines()[1:] == normal.splitlines()[1:]
    assert "special characters are not allowed" in deferred
