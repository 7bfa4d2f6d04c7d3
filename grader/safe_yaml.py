"""Load untrusted YAML with hard limits, before anything is built from it.

Why a separate pass: PyYAML's loaders happily build a "billion laughs" document (a few
hundred bytes whose aliases expand to billions of nodes), accept duplicate mapping keys
silently (the API server's strict decoding rejects them), and recurse without bound on
deeply nested input. So we first walk the *event stream* -- a flat sequence produced by
libyaml's state machine, with no recursion and no alias expansion -- and account for
what the document would cost once expanded. Only text that passes is then constructed,
with the C loader when available, into a plain tree (no shared references, string keys),
which is what the rest of the grader may mutate freely.

The common case costs one walk: a plain document (no anchors, aliases, tags or merge
keys, string keys, values JSON can hold) is built by the same walk that checks it, from
the resolver's and SafeConstructor's own rules, so it is never composed, constructed and
copied. Anything else goes the long way (compose, key collisions, construct, copy_tree)
with that way's messages; a test holds the two to the same trees and issues.

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


class _Frame:
    """One open mapping or sequence of the event walk. Its path is worked out only when a
    message needs it (`_frame_path`): most documents never need one."""

    __slots__ = ("is_map", "parent", "slot", "anchor", "start", "index", "want_key",
                 "pending_key", "keys", "value", "build_key")

    def __init__(self, is_map: bool, parent: "_Frame | None", slot: "str | int | None",
                 anchor: str | None, start: int, value: Any) -> None:
        self.is_map = is_map
        self.parent = parent                    # the enclosing frame
        self.slot = slot                        # key or index in parent; None: path restarts at ""
        self.anchor = anchor
        self.start = start
        self.index = 0                          # next sequence index
        self.want_key = True                    # mappings alternate key, value
        self.pending_key: str | None = None     # key whose value comes next
        self.keys: dict[str, int] = {}          # key -> line, for duplicate detection
        self.value = value                      # the dict or list being built, or None
        self.build_key: Any = None              # JSON key the next built value goes under


def _frame_path(frame: _Frame | None) -> str:
    slots: list[str | int] = []
    while frame is not None and frame.slot is not None:
        slots.append(frame.slot)
        frame = frame.parent
    path = ""
    for slot in reversed(slots):
        path = join_index(path, slot) if isinstance(slot, int) else join_key(path, slot)
    return path


def _mark(event: yaml.Event) -> str:
    m = event.start_mark
    return f"line {m.line + 1}" if m is not None else "an unknown line"


#: Nothing built yet, or a value the direct build leaves to PyYAML's constructors.
_UNSET, _SLOW = object(), object()


class _Scanner:
    """One pass over a YAML event stream, before anything is constructed: counts the nodes
    each anchor expands to, refuses (raises _Refused) past a limit (documents, depth,
    aliases, alias expansion) or on a recursive or undefined alias, and collects the
    per-document issues PyYAML would hide (duplicate keys, non-scalar keys).

    With `build`, the same walk also builds each plain document's tree (see _plain_value):
    a document without anchors, aliases, tags or merge keys, whose every value JSON can hold
    and whose keys stay distinct as strings. That is the tree compose + construct + copy_tree
    would give, at a fraction of the cost; any other document is left out of `built`, so
    PyYAML's constructors and the checks after them (with their messages) take it."""

    def __init__(self, limits: Limits, build: bool = False) -> None:
        self.limits = limits
        self.build = build
        self.doc = -1
        self.stack: list[_Frame] = []
        self.anchors: dict[str, int] = {}     # anchor -> expanded size, once complete
        self.open_anchors: set[str] = set()
        self.anchor_lines: dict[str, int] = {}  # anchor -> line it is defined on
        self.redefined: set[int] = set()       # documents that define an anchor twice
        self.doc_lines: list[int] = []         # document -> line it starts on
        self.nodes = 0                         # expanded node count in the current document
        self.aliases = 0
        self.expansion = 0
        self.issues: dict[int, list[YamlIssue]] = {}
        self.building = False                  # the current document is being built
        self.root: Any = _UNSET
        self.built: dict[int, Any] = {}        # document -> tree (None: an empty document)

    def scan(self, events: Iterable[yaml.Event]) -> None:
        """Account for every event of the stream (one loop, one dispatch per event: this is
        the hot path of every load)."""
        handlers = {yaml.ScalarEvent: self._scalar,
                    yaml.MappingStartEvent: self._start_collection,
                    yaml.SequenceStartEvent: self._start_collection,
                    yaml.MappingEndEvent: self._end_collection,
                    yaml.SequenceEndEvent: self._end_collection,
                    yaml.AliasEvent: self._alias,
                    yaml.DocumentStartEvent: self._start_document,
                    yaml.DocumentEndEvent: self._end_document}
        for event in events:
            handler = handlers.get(type(event))
            if handler is not None:             # stream start and end need nothing
                handler(event)

    def _start_document(self, event: yaml.Event) -> None:
        self.doc += 1
        if self.doc >= self.limits.max_documents:
            raise _Refused(self.doc, "", f"more than {self.limits.max_documents} YAML documents; "
                           "split the input or remove empty '---' separators")
        self.anchors.clear()
        self.open_anchors.clear()
        self.anchor_lines.clear()
        self.doc_lines.append(event.start_mark.line if event.start_mark is not None else 0)
        self.nodes = 0
        self.building = self.build
        self.root = _UNSET

    def _end_document(self, event: yaml.Event) -> None:
        if self.building and self.root is not _UNSET and self.doc not in self.issues:
            self.built[self.doc] = self.root

    def _is_key(self) -> bool:
        stack = self.stack
        return bool(stack) and stack[-1].is_map and stack[-1].want_key

    def _slot_path(self) -> str:
        """Path of the node about to start ("" for a mapping key)."""
        if not self.stack:
            return ""
        top = self.stack[-1]
        if top.is_map:
            return "" if top.want_key else join_key(_frame_path(top), top.pending_key or "?")
        return join_index(_frame_path(top), top.index)

    def _issue(self, path: str, message: str) -> None:
        """A per-document issue: the document is reported and left out, so not built."""
        _add(self.issues, self.doc, path, message)
        self.building = False

    def _define(self, event: yaml.NodeEvent) -> None:
        """A node with an anchor starts. PyYAML's composer refuses an anchor defined twice
        in one document (YAML 1.2 allows it), and that refusal would end the whole stream:
        so the document is reported here and left out, with both lines."""
        anchor, line = event.anchor, event.start_mark.line + 1 if event.start_mark else 0
        if anchor in self.anchor_lines:
            self._issue(self._slot_path(), f"anchor '&{anchor}' at line {line} is already defined "
                        f"at line {self.anchor_lines[anchor]}; give each anchor its own name")
            self.redefined.add(self.doc)
        else:
            self.anchor_lines[anchor] = line
        self.open_anchors.add(anchor)
        self.building = False                   # anchored nodes are built (copied) by PyYAML

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

    def _put(self, value: Any) -> None:
        """Place a built value (not a key) where the node now starting belongs."""
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if top.is_map:
            top.value[top.build_key] = value
        else:
            top.value.append(value)

    def _alias(self, event: yaml.AliasEvent) -> None:
        """An alias counts as the nodes its anchor expands to, within the alias limits."""
        name, doc, limits = event.anchor, self.doc, self.limits
        is_key, path = self._is_key(), self._slot_path()
        self.building = False                   # aliases are built (copied) by PyYAML
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
            self._issue(_frame_path(self.stack[-1]),
                        f"an alias cannot be used as a mapping key ({_mark(event)})")
            self.stack[-1].pending_key = "?"
        start = self.nodes
        self.nodes += size
        self._after_node(start, None)

    def _scalar(self, event: yaml.ScalarEvent) -> None:
        """A scalar is one node; as a mapping key it is checked for duplicates. (The most
        frequent event: _put and _after_node are written out here.)"""
        anchor = event.anchor
        if anchor is not None:
            self._define(event)
        self.nodes += 1
        top = self.stack[-1] if self.stack else None
        if top is not None and top.is_map and top.want_key:
            self._key(event, top)
            top.want_key = False
        else:
            if self.building:
                value = _plain_value(event)
                if value is _SLOW:
                    self.building = False
                elif top is None:
                    self.root = value
                elif top.is_map:
                    top.value[top.build_key] = value
                else:
                    top.value.append(value)
            if top is not None:
                if top.is_map:
                    top.want_key = True
                else:
                    top.index += 1
        if anchor is not None:
            self.anchors[anchor] = 1
            self.open_anchors.discard(anchor)

    def _key(self, event: yaml.ScalarEvent, top: _Frame) -> None:
        key = event.value
        top.pending_key = key
        merge = key == "<<" and event.tag is None and event.implicit[0]
        if not merge:
            if key in top.keys:
                self._issue(join_key(_frame_path(top), key),
                            f"duplicate key '{key}' (first at line {top.keys[key]}, again at "
                            f"{_mark(event)}); each key may appear only once in a mapping")
            else:
                top.keys[key] = event.start_mark.line + 1 if event.start_mark else 0
        if self.building:
            # A key that reads as anything but a string (`80`, `true`, `1.0`: PyYAML's dict
            # may merge keys that differ as strings), or that repeats one, is left to
            # PyYAML and the collision checks, with their messages.
            value = _SLOW if merge else _plain_value(event)
            if type(value) is not str or value in top.value:
                self.building = False
            top.build_key = value

    def _start_collection(self, event: yaml.NodeEvent) -> None:
        """A mapping or sequence starts: one node, one level deeper (within max_depth)."""
        anchor, stack = event.anchor, self.stack
        is_key = self._is_key()
        if anchor is not None:
            self._define(event)
        start = self.nodes
        self.nodes += 1
        is_map = type(event) is yaml.MappingStartEvent
        if is_key:
            what = "mapping" if is_map else "list"
            self._issue(_frame_path(stack[-1]),
                        f"a mapping key must be a plain value, not a {what} ({_mark(event)})")
            stack[-1].pending_key = "?"
        if len(stack) + 1 > self.limits.max_depth:
            raise _Refused(self.doc, self._slot_path(), f"nesting deeper than {self.limits.max_depth} levels")
        if event.tag is not None:
            self.building = False
        value: Any = None
        if self.building:
            value = {} if is_map else []
            self._put(value)
        if not stack or is_key:
            slot: str | int | None = None
        elif stack[-1].is_map:
            slot = stack[-1].pending_key or "?"
        else:
            slot = stack[-1].index
        stack.append(_Frame(is_map, stack[-1] if stack else None, slot, anchor, start, value))

    def _end_collection(self, event: yaml.Event) -> None:
        frame = self.stack.pop()
        self._after_node(frame.start, frame.anchor)


#: Implicitly typed plain scalars (`80`, `true`, `~`, `web`) as the slow path would build
#: them, by text; short texts only, and a bounded count, so the cache stays small.
_PLAIN_CACHE: dict[str, Any] = {}
_PLAIN_CACHE_SIZE, _PLAIN_CACHE_TEXT = 4096, 64
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _plain_value(event: yaml.ScalarEvent) -> Any:
    """The value of an untagged scalar, or _SLOW for what only PyYAML's constructors may
    build or judge (an explicit tag, `<<`, `=`, a number JSON cannot hold ...)."""
    if event.tag is not None:
        return _SLOW
    text = event.value
    if not event.implicit[0]:
        return text                              # quoted or block: a string as written
    value = _PLAIN_CACHE.get(text, _UNSET)
    if value is _UNSET:
        value = _resolve_plain(text)
        if len(text) <= _PLAIN_CACHE_TEXT:
            if len(_PLAIN_CACHE) >= _PLAIN_CACHE_SIZE:
                _PLAIN_CACHE.clear()
            _PLAIN_CACHE[text] = value
    return value


def _resolve_plain(text: str) -> Any:
    """What the loader's resolver and SafeConstructor make of a plain scalar."""
    resolvers = _Loader.yaml_implicit_resolvers
    tag = _STR
    for candidate, rx in resolvers.get(text[0] if text else "", []) + resolvers.get(None, []):
        if rx.match(text):
            tag = candidate
            break
    if tag == _STR:
        return text
    if tag not in (_NULL, _BOOL, _INT, _FLOAT):
        return _SLOW
    try:
        value = _Loader.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, text))
    except _CONSTRUCT_ERRORS:
        return _SLOW
    if isinstance(value, float) and not math.isfinite(value):
        return _SLOW
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        return _SLOW
    return value


class _Scan:
    """What one walk found: documents seen, per-document issues, the syntax error if
    any, and the trees it built (document -> tree, None for an empty document)."""

    def __init__(self, scanner: _Scanner, syntax: YamlIssue | None) -> None:
        self.count = scanner.doc + 1
        self.issues = scanner.issues
        self.syntax = syntax
        self.built = scanner.built
        self.redefined = scanner.redefined
        self.doc_lines = scanner.doc_lines


def _scan(text: str, limits: Limits, parser: type | None = None, build: bool = False) -> _Scan:
    """Walk the event stream once (see _Scanner). Raises _Refused when a limit is exceeded.

    `parser` is the loader class whose event stream is read (the C one by default)."""
    scanner = _Scanner(limits, build)
    loader = (parser or _Loader)(text)
    try:
        # The parser's own get_event, not yaml.parse's generator around it: a Python
        # frame per event is a fifth of the walk. get_event gives None after the stream.
        scanner.scan(iter(loader.get_event, None))
    except yaml.YAMLError as exc:
        return _Scan(scanner, YamlIssue(max(scanner.doc, 0), "", _syntax_message(exc, text)))
    finally:
        loader.dispose()
    return _Scan(scanner, None)


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
            # What stat said plus one byte (to notice a file that grew meanwhile): asking
            # for the limit would allocate, and fault in, a megabyte for every small file.
            data = fh.read(size + 1)
            if len(data) > size:
                data += fh.read(limits.max_bytes + 1 - len(data))
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
    return _parse(text, limits, build=True)


def _parse(text: str, limits: Limits, build: bool) -> tuple[list[tuple[int, Any]], list[YamlIssue]]:
    """parse_documents; `build=False` constructs every document with PyYAML (the reference
    the direct build of the scan must agree with)."""
    big = check_text_size(text, limits)
    if big is not None:
        return [], [big]
    try:
        scan = _scan(text, limits, build=build)
        if scan.syntax is not None and _is_library_limit(scan.syntax):
            # libyaml (PyYAML >= 6.0.2 bundles one with its own nesting cap) looks ahead
            # further than we read, so its cap can fire before ours. Our limits must be the
            # ones a learner sees, whatever PyYAML is installed: walk the same text again
            # with the pure-Python parser, which has no cap of its own, so ours fires.
            scan = _scan(text, limits, parser=yaml.SafeLoader, build=build)
    except _Refused as refused:
        return [], [refused.issue]
    per_doc, built = scan.issues, scan.built
    issues: list[YamlIssue] = [i for d in sorted(per_doc) for i in per_doc[d]]
    # a syntax error names its document: the ones before it are kept
    stop = cast(int, scan.syntax.doc) if scan.syntax is not None else scan.count
    trees = {index: tree for index, tree in built.items() if index < stop}
    if any(index not in per_doc and index not in built for index in range(stop)):
        issues += _construct(text, limits, stop, scan, into=trees)
    if scan.syntax is not None:
        issues.append(scan.syntax)
    return [(index, trees[index]) for index in sorted(trees) if trees[index] is not None], issues


def _construct(text: str, limits: Limits, stop: int, scan: _Scan, into: dict[int, Any]) -> list[YamlIssue]:
    """Compose and construct with PyYAML the documents before `stop` that the scan neither
    refused nor built, adding their trees to `into`; the issues found, in document order.

    PyYAML's composer stops the whole stream at an anchor defined twice; the scan has
    reported that document, so the walk starts again on the line of the next one."""
    issues: list[YamlIssue] = []
    skip = scan.issues.keys() | scan.built.keys()
    index = 0
    while index < stop:
        loader = _Loader(text if index == 0 else _from_line(text, scan.doc_lines[index]))
        try:
            while index < stop and loader.check_node():
                node = loader.get_node()
                if index not in skip and node is not None:
                    issues += _construct_one(loader, node, index, limits, into)
                index += 1
            break
        except yaml.YAMLError:
            if index not in scan.redefined:
                break  # already reported by the scan as the syntax error
            index += 1
        finally:
            loader.dispose()
    return issues


def _construct_one(loader: Any, node: yaml.Node, index: int, limits: Limits,
                   into: dict[int, Any]) -> list[YamlIssue]:
    """One document through the collision check and PyYAML's constructors."""
    doc_issues = _key_collisions(loader, node, index)
    if doc_issues:
        return doc_issues
    built = _build(loader, node, index, limits)
    if isinstance(built, YamlIssue):
        return [built]
    if built is not None:
        into[index] = built
    return []


_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")   # YAML's line breaks


def _from_line(text: str, line: int) -> str:
    """`text` from the start of its line `line` (0-based, as YAML counts lines)."""
    if line <= 0:
        return text
    for n, brk in enumerate(_LINE_BREAK.finditer(text), start=1):
        if n == line:
            return text[brk.end():]
    return ""


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
    The same for keys that differ as strings but are one key of PyYAML's dict (`1.0` and
    `1`, `yes` and `1`: Python's 1 == 1.0 == True). The scan already refused keys spelled
    the same; this walks the composed nodes (each once, without recursion) and names both
    spellings."""
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
            values: dict[Any, yaml.Node] = {}     # the keys as PyYAML's dict holds them
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                    children.append((value_node, path))
                    continue
                try:
                    value = loader.construct_object(key_node)
                    key = _key_string(value)
                except _CONSTRUCT_ERRORS:
                    key = None   # reported when the document is constructed
                    loader.recursive_objects = {}
                if key is None:
                    children.append((value_node, path))
                    continue
                first = keys.get(key) or values.get(value)
                if first is not None:
                    out.append(YamlIssue(index, join_key(path, key), (
                        f"duplicate key '{key}': '{first.value}' (line {first.start_mark.line + 1}) and "
                        f"'{key_node.value}' (line {key_node.start_mark.line + 1}) are the same key "
                        f"once read as YAML; each key may appear only once in a mapping "
                        f"(quote a key to keep it as written)")))
                else:
                    keys[key] = values[value] = key_node
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
