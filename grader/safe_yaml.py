"""Load untrusted YAML with hard limits, before anything is built from it.

Why a separate pass: PyYAML's loaders happily build a "billion laughs" document (a few
hundred bytes whose aliases expand to billions of nodes), accept duplicate mapping keys
silently (the API server's strict decoding rejects them), and recurse without bound on
deeply nested input. So we first walk the *event stream* -- a flat sequence produced by
libyaml's state machine, with no recursion and no alias expansion -- and account for
what the document would cost once expanded. Only text that passes is then constructed,
with the C loader when available, into a plain tree (no shared references, string keys),
which is what the rest of the grader may mutate freely.

The public surface is `Limits`, `parse_documents` and `copy_tree`; problems come back
as `YamlIssue` records so this module does not need to know about `Manifest`/`Problem`.

Long on purpose: every defence against hostile YAML (size, documents, depth, aliases,
duplicate and ambiguous keys, tags, values JSON cannot hold) is in this one file, so a
security review reads it top to bottom; the loader, the event scanner and the tree copy
share private pieces (_Loader, _Refused, YamlIssue paths) that a split would make public.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, cast

import yaml

from grader.k8s.fields import join_index, join_key

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"

# PyYAML's YAML 1.1 int and float patterns without the base-60 ("sexagesimal") forms:
# `1:20` is 80 to PyYAML but the string "1:20" to the API server's YAML (go-yaml), which
# the schema then refuses for an integer field. Everything else is as in yaml.resolver.
_INT_RX = re.compile(r"""^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+)$""", re.X)
_FLOAT_RX = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X)

#: JSON numbers as the API server decodes them into integer fields: int64.
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


@dataclass(frozen=True)
class Limits:
    """Bounds on what one file (or one string) may cost.

    Defaults are generous for hand-written course manifests and tiny for an attacker:
    a Deployment is ~40 lines, a lab answer a few hundred.
    """

    max_bytes: int = 1 << 20            # per file/string, checked before reading it all
    max_documents: int = 100            # per file/string
    max_objects: int = 100              # per file/string, counting each item of a `kind: List`
    max_aliases: int = 100              # alias references (`*name`) per file
    max_alias_expansion: int = 10_000   # nodes that aliases would add once expanded
    max_depth: int = 64                 # nesting of mappings/sequences


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class YamlIssue:
    """Something wrong with the YAML itself. `doc` is None when the whole input is refused
    before any document could be identified (e.g. too big)."""

    doc: int | None
    path: str
    message: str


def _implicit(tag: str, rx: "re.Pattern[str]") -> "tuple[str, re.Pattern[str]]":
    return tag, {_INT: _INT_RX, _FLOAT: _FLOAT_RX}.get(tag, rx)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """The safe loader, minus two YAML 1.1 features the API server's YAML->JSON step
    (go-yaml) does not have: timestamps (`2024-01-01` stays a string, and a `datetime`
    would only confuse the schema check) and base-60 numbers (`1:20` stays a string
    instead of becoming 80)."""

    yaml_implicit_resolvers = {
        first: [_implicit(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()  # type: ignore[attr-defined]
    }


def _construct_value_tag(loader: Any, node: yaml.Node) -> str:
    # A bare "=" resolves to the obscure YAML 1.1 !!value tag, which has no constructor.
    return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:value", _construct_value_tag)


class _Refused(Exception):
    def __init__(self, doc: int | None, path: str, message: str) -> None:
        super().__init__(message)
        self.issue = YamlIssue(doc, path, message)


@dataclass
class _Frame:
    is_map: bool
    path: str
    anchor: str | None
    start: int
    index: int = 0                  # next sequence index
    want_key: bool = True           # mappings alternate key, value
    pending_key: str | None = None  # key whose value comes next
    keys: dict | None = None        # key -> line, for duplicate detection


def _mark(event: yaml.Event) -> str:
    m = event.start_mark
    return f"line {m.line + 1}" if m is not None else "an unknown line"


class _Scanner:
    """One pass over a YAML event stream, before anything is constructed: counts the nodes
    each anchor expands to, refuses (raises _Refused) past a limit (documents, depth,
    aliases, alias expansion) or on a recursive or undefined alias, and collects the
    per-document issues PyYAML would hide (duplicate keys, non-scalar keys)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.doc = -1
        self.stack: list[_Frame] = []
        self.anchors: dict[str, int] = {}     # anchor -> expanded size, once complete
        self.open_anchors: set[str] = set()
        self.nodes = 0                         # expanded node count in the current document
        self.aliases = 0
        self.expansion = 0
        self.issues: dict[int, list[YamlIssue]] = {}

    def scan(self, events: Iterable[yaml.Event]) -> None:
        """Account for every event of the stream (one loop here: this is the hot path of
        every load, so each event costs one dispatch and no more)."""
        stack = self.stack
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                self._start_document()
            elif isinstance(event, yaml.CollectionEndEvent):
                frame = stack.pop()
                self._after_node(frame.start, frame.anchor)
            elif isinstance(event, yaml.NodeEvent):     # not stream start/end, document end
                is_key = bool(stack) and stack[-1].is_map and stack[-1].want_key
                path = self._slot_path() or ""
                if isinstance(event, yaml.AliasEvent):
                    self._alias(event, path, is_key)
                elif isinstance(event, yaml.ScalarEvent):
                    self._scalar(event, is_key)
                else:
                    self._start_collection(event, path, is_key)

    def _start_document(self) -> None:
        self.doc += 1
        if self.doc >= self.limits.max_documents:
            raise _Refused(self.doc, "", f"more than {self.limits.max_documents} YAML documents; "
                           "split the input or remove empty '---' separators")
        self.anchors.clear()
        self.open_anchors.clear()
        self.nodes = 0

    def _slot_path(self) -> str | None:
        """Path of the node about to start, or None if it is a mapping key."""
        if not self.stack:
            return ""
        top = self.stack[-1]
        if top.is_map:
            if top.want_key:
                return None
            return join_key(top.path, top.pending_key or "?")
        return join_index(top.path, top.index)

    def _after_node(self, size_start: int, anchor: str | None) -> None:
        """A node ended: record its anchor's expanded size, move its parent along."""
        if anchor is not None:
            self.anchors[anchor] = self.nodes - size_start
            self.open_anchors.discard(anchor)
        if self.stack:
            top = self.stack[-1]
            if top.is_map:
                top.want_key = not top.want_key
            else:
                top.index += 1

    def _alias(self, event: yaml.AliasEvent, path: str, is_key: bool) -> None:
        """An alias counts as the nodes its anchor expands to, within the alias limits."""
        name, doc, limits = event.anchor, self.doc, self.limits
        if name in self.open_anchors:
            raise _Refused(doc, path, f"alias '*{name}' at {_mark(event)} refers to a "
                           "node that contains it (a recursive structure)")
        if name not in self.anchors:
            raise _Refused(doc, path, f"alias '*{name}' at {_mark(event)} refers to an "
                           f"anchor '&{name}' that is not defined before it")
        self.aliases += 1
        if self.aliases > limits.max_aliases:
            raise _Refused(doc, path, f"more than {limits.max_aliases} YAML aliases "
                           "('*name'); write the values out instead")
        size = self.anchors[name]
        self.expansion += size
        if self.expansion > limits.max_alias_expansion:
            raise _Refused(doc, path, "YAML aliases would expand to more than "
                           f"{limits.max_alias_expansion} values (an alias 'bomb'?); "
                           "refused without expanding it")
        if is_key:
            _add(self.issues, doc, self.stack[-1].path,
                 f"an alias cannot be used as a mapping key ({_mark(event)})")
            self.stack[-1].pending_key = "?"
        start = self.nodes
        self.nodes += size
        self._after_node(start, None)

    def _scalar(self, event: yaml.ScalarEvent, is_key: bool) -> None:
        """A scalar is one node; as a mapping key it is checked for duplicates."""
        anchor = event.anchor
        if anchor is not None:
            self.open_anchors.add(anchor)
        start = self.nodes
        self.nodes += 1
        if is_key:
            top = self.stack[-1]
            key = event.value
            top.pending_key = key
            merge = key == "<<" and event.tag is None and event.implicit[0]
            if not merge and top.keys is not None:
                if key in top.keys:
                    _add(self.issues, self.doc, join_key(top.path, key),
                         f"duplicate key '{key}' (first at line {top.keys[key]}, again at "
                         f"{_mark(event)}); each key may appear only once in a mapping")
                else:
                    top.keys[key] = event.start_mark.line + 1 if event.start_mark else 0
        self._after_node(start, anchor)

    def _start_collection(self, event: yaml.NodeEvent, path: str, is_key: bool) -> None:
        """A mapping or sequence starts: one node, one level deeper (within max_depth)."""
        anchor = event.anchor
        if anchor is not None:
            self.open_anchors.add(anchor)
        start = self.nodes
        self.nodes += 1
        if is_key:
            what = "mapping" if isinstance(event, yaml.MappingStartEvent) else "list"
            _add(self.issues, self.doc, self.stack[-1].path,
                 f"a mapping key must be a plain value, not a {what} ({_mark(event)})")
            self.stack[-1].pending_key = "?"
        if len(self.stack) + 1 > self.limits.max_depth:
            raise _Refused(self.doc, path, f"nesting deeper than {self.limits.max_depth} levels")
        is_map = isinstance(event, yaml.MappingStartEvent)
        self.stack.append(_Frame(is_map=is_map, path=path, anchor=anchor, start=start,
                                 keys={} if is_map else None))


def _scan(text: str, limits: Limits, parser: type | None = None
          ) -> tuple[int, dict[int, list[YamlIssue]], YamlIssue | None]:
    """Walk the event stream once (see _Scanner). Returns (number of documents,
    per-document issues, syntax error if any). Raises _Refused when a limit is exceeded.

    `parser` is the loader class whose event stream is read (the C one by default)."""
    scanner = _Scanner(limits)
    try:
        scanner.scan(yaml.parse(text, Loader=parser or _Loader))
    except yaml.YAMLError as exc:
        return scanner.doc + 1, scanner.issues, YamlIssue(max(scanner.doc, 0), "", _syntax_message(exc, text))
    return scanner.doc + 1, scanner.issues, None


#: How libyaml words the caps it enforces itself (nesting depth, in libyaml >= 0.2.5).
_LIBRARY_LIMIT = re.compile(r"maximum nesting depth|exceeded max", re.I)


def _is_library_limit(issue: YamlIssue) -> bool:
    return bool(_LIBRARY_LIMIT.search(issue.message))


def _add(issues: dict[int, list[YamlIssue]], doc: int, path: str, message: str) -> None:
    issues.setdefault(doc, []).append(YamlIssue(doc, path, message))


def _syntax_message(exc: yaml.YAMLError, text: str) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    detail = f"{problem} ({context})" if context else problem
    hint = ""
    if mark is not None:
        lines = text.splitlines()
        if mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
            hint = "; indent with spaces, not tabs"
    return f"YAML syntax error{where}: {detail}{hint}"

def check_text_size(text: str, limits: Limits) -> YamlIssue | None:
    """Refuse an oversized string without encoding all of it when the answer is obvious."""
    if len(text) > limits.max_bytes or (
        len(text) * 4 > limits.max_bytes and len(text.encode("utf-8", "surrogatepass")) > limits.max_bytes
    ):
        return YamlIssue(None, "", f"input is larger than {_human(limits.max_bytes)}; "
                         "course manifests are a few kilobytes")
    return None


def read_text(path: str, limits: Limits) -> tuple[str | None, YamlIssue | None]:
    """Read a file as UTF-8, refusing it by size *before* reading (stat, then a bounded
    read in case it grows meanwhile)."""
    import os

    try:
        size = os.stat(path).st_size
        if size > limits.max_bytes:
            return None, YamlIssue(None, "", f"file is {_human(size)}, larger than the "
                                   f"{_human(limits.max_bytes)} limit; course manifests are a few kilobytes")
        with open(path, "rb") as fh:
            data = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        return None, YamlIssue(None, "", f"cannot read the file: {exc.strerror or exc}")
    if len(data) > limits.max_bytes:
        return None, YamlIssue(None, "", f"file is larger than the {_human(limits.max_bytes)} limit")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, YamlIssue(None, "", f"file is not UTF-8 text (bad byte at offset {exc.start}); "
                               "save it as UTF-8")


def _human(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB".replace(".0 ", " ")
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB".replace(".0 ", " ")
    return f"{n} bytes"


def parse_documents(text: str,
                    limits: Limits = DEFAULT_LIMITS) -> tuple[list[tuple[int, Any]], list[YamlIssue]]:
    """All non-empty documents of `text` as (index, plain tree), plus every issue found.

    Index counts every document in the stream (empty ones too), so "document 3" is the
    third `---` section a learner sees. A limit violation refuses the whole input and
    nothing is constructed; a syntax error keeps the documents before it; a document with
    duplicate keys is reported and left out.
    """
    big = check_text_size(text, limits)
    if big is not None:
        return [], [big]
    try:
        count, per_doc, syntax = _scan(text, limits)
        if syntax is not None and _is_library_limit(syntax):
            # libyaml (PyYAML >= 6.0.2 bundles one with its own nesting cap) looks ahead
            # further than we read, so its cap can fire before ours. Our limits must be the
            # ones a learner sees, whatever PyYAML is installed: walk the same text again
            # with the pure-Python parser, which has no cap of its own, so ours fires.
            count, per_doc, syntax = _scan(text, limits, parser=yaml.SafeLoader)
    except _Refused as refused:
        return [], [refused.issue]
    issues: list[YamlIssue] = [i for d in sorted(per_doc) for i in per_doc[d]]
    stop = cast(int, syntax.doc) if syntax is not None else count   # a syntax error names its document
    docs: list[tuple[int, Any]] = []
    loader = _Loader(text)
    try:
        index = 0
        while index < stop and loader.check_node():
            node = loader.get_node()
            if index not in per_doc and node is not None:
                doc_issues = _key_collisions(loader, node, index)
                if doc_issues:
                    issues += doc_issues
                else:
                    built = _build(loader, node, index, limits)
                    if isinstance(built, YamlIssue):
                        issues.append(built)
                    elif built is not None:
                        docs.append((index, built))
            index += 1
    except yaml.YAMLError:
        pass  # already reported by the scan as the syntax error
    finally:
        loader.dispose()
    if syntax is not None:
        issues.append(syntax)
    return docs, issues


#: What PyYAML's constructors raise, besides YAMLError, for values they cannot build:
#: ValueError for a 5000-digit integer (Python's int digit limit) or `!!int foo`,
#: KeyError for `!!bool foo`, AttributeError for `!!timestamp foo` ...
_CONSTRUCT_ERRORS = (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError, ArithmeticError)


def _build(loader: Any, node: yaml.Node, index: int, limits: Limits) -> Any:
    """Construct one document and copy it into a plain tree; a YamlIssue instead of an
    exception for anything that cannot become JSON."""
    try:
        data = loader.construct_document(node)
    except _CONSTRUCT_ERRORS as exc:
        # PyYAML leaves its half-built state behind when a constructor raises.
        loader.constructed_objects = {}
        loader.recursive_objects = {}
        loader.state_generators = []
        return YamlIssue(index, "", _construct_message(exc))
    if data is None:
        return None
    try:
        return copy_tree(data, limits)
    except TreeError as exc:
        return YamlIssue(index, exc.path, exc.message)


def _construct_message(exc: Exception) -> str:
    if isinstance(exc, yaml.YAMLError):
        problem = getattr(exc, "problem", None) or str(exc)
    elif isinstance(exc, ValueError) and "digits" in str(exc) and "integer" in str(exc):
        problem = ("a number has thousands of digits; JSON cannot hold an integer outside "
                   "the 64-bit range")
    elif isinstance(exc, ValueError) and str(exc):
        problem = f"a value cannot be read as its YAML type ({str(exc).splitlines()[0]})"
    else:
        problem = ("a value does not fit its explicit YAML tag (such as !!bool or !!timestamp); "
                   "remove the tag")
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}" if mark is not None else ""
    if "could not determine a constructor" in problem:
        tag = problem.split('for the tag')[-1].strip()
        return f"unsupported YAML tag{where}: {tag}; Kubernetes YAML uses no custom tags"
    return f"YAML error{where}: {problem}"


def _key_collisions(loader: Any, root: yaml.Node, index: int) -> list[YamlIssue]:
    """Keys that are spelled differently but mean the same to YAML 1.1 (`0x10` and `16`,
    `yes` and `true`): PyYAML silently keeps the last one, so a learner's value vanishes.
    The scan already refused keys spelled the same; this walks the composed nodes (each
    once, without recursion) and names both spellings."""
    out: list[YamlIssue] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        children: list[tuple[yaml.Node, str]] = []
        if isinstance(node, yaml.SequenceNode):
            children = [(child, join_index(path, i)) for i, child in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            keys: dict[str, yaml.Node] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                    children.append((value_node, path))
                    continue
                try:
                    key = _key_string(loader.construct_object(key_node))
                except _CONSTRUCT_ERRORS:
                    key = None   # reported when the document is constructed
                    loader.recursive_objects = {}
                if key is None:
                    children.append((value_node, path))
                    continue
                if key in keys:
                    first = keys[key]
                    out.append(YamlIssue(index, join_key(path, key), (
                        f"duplicate key '{key}': '{first.value}' (line {first.start_mark.line + 1}) and "
                        f"'{key_node.value}' (line {key_node.start_mark.line + 1}) are the same key "
                        f"once read as YAML; each key may appear only once in a mapping "
                        f"(quote a key to keep it as written)")))
                else:
                    keys[key] = key_node
                children.append((value_node, join_key(path, key)))
        stack += reversed(children)  # depth first, in document order: an alias is found
        # where its anchor is, not where it is used
    loader.constructed_objects = {}
    return out


_JSON_SCALARS = (str, int, float, bool, type(None))


class TreeError(ValueError):
    """A value that has no JSON equivalent, or a structure nested too deep."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def copy_tree(value: Any, limits: Limits = DEFAULT_LIMITS, path: str = "", _depth: int = 0) -> Any:
    """A fresh JSON-like tree: dicts with string keys, lists, scalars. Aliases become
    independent copies (bounded by the scan's expansion limit), so mutating one branch
    never changes another. Raises TreeError for values JSON cannot hold."""
    if _depth > limits.max_depth:
        raise TreeError(path, f"nesting deeper than {limits.max_depth} levels")
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        spelled: dict[str, Any] = {}
        for k, v in value.items():
            key = _key_string(k)
            if key is None:
                raise TreeError(path, f"mapping key {_short_repr(k)} is not a string")
            if key in out:
                raise TreeError(join_key(path, key), (
                    f"duplicate key '{key}': {_short_repr(spelled[key])} and {_short_repr(k)} are the "
                    "same key in JSON; each key may appear only once in a mapping"))
            spelled[key] = k
            out[key] = copy_tree(v, limits, join_key(path, key), _depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [copy_tree(v, limits, join_index(path, i), _depth + 1) for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise TreeError(path, "JSON cannot hold NaN or infinity (.nan, .inf); write a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        raise TreeError(path, f"JSON cannot hold this {value.bit_length()}-bit integer: Kubernetes "
                        "numbers are 64-bit (at most 9223372036854775807)")
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, bytes):
        raise TreeError(path, "binary (!!binary) values are not allowed here; use a plain string")
    raise TreeError(path, f"a value of Python type {type(value).__name__!r} cannot appear in a "
                          "Kubernetes object")


def _short_repr(value: Any) -> str:
    """repr() that never fails (a 5000-digit int cannot be turned into text) or floods."""
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        return f"a {value.bit_length()}-bit integer"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _key_string(k: Any) -> str | None:
    """Keys as the API server's YAML->JSON conversion writes them."""
    if isinstance(k, str):
        return k
    if isinstance(k, bool):
        return "true" if k else "false"
    if isinstance(k, int) and not INT64_MIN <= k <= INT64_MAX:
        return None
    if isinstance(k, float) and not math.isfinite(k):
        return None
    if isinstance(k, (int, float)):
        return str(k)
    if k is None:
        return "null"
    return None
