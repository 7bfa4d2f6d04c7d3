"""Label selectors as Kubernetes evaluates them (k8s.io/apimachinery `metav1.LabelSelector`
and `labels.Selector`).

Why a module of its own: NetworkPolicy (podSelector, namespaceSelector), Services and the
notebooks' `frm="app=web"` arguments all select by labels, and they must agree exactly.

Semantics (kubernetes.io "Labels and Selectors", `LabelSelectorAsSelector`):
- `matchLabels` and `matchExpressions` are ANDed; every requirement must hold.
- An EMPTY selector (`{}`, or no matchLabels and no matchExpressions) matches everything.
  A null selector (the field absent) is a different thing: what it means depends on the
  field (for NetworkPolicy peers, see grader.model.netpol), so `compile_selector(None)`
  returns None and lets the caller decide.
- Operators: `In` (key present with one of the values), `NotIn` (key absent, or its value
  is not one of the values), `Exists` (key present), `DoesNotExist` (key absent).
- The kubectl string form "k=v,k2!=v2,k3 in (a,b),k4 notin (c),k5,!k6" parses to the same
  requirements (`==` is a synonym of `=`; `!=` matches when the key is absent, like NotIn).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class SelectorError(ValueError):
    """A selector that the API server (or kubectl) would refuse to parse."""


@dataclass(frozen=True)
class Requirement:
    """One requirement of a label selector: a key, an operator of OPERATORS and its values."""

    key: str
    operator: str                      # one of OPERATORS
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op == "In":
            value = labels.get(self.key)
            return value is not None and value in self.values
        if op == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if op == "Exists":
            return self.key in labels
        return self.key not in labels   # DoesNotExist

    def describe(self) -> str:
        vals = ",".join(sorted(self.values))
        if self.operator == "In":
            return f"{self.key}={vals}" if len(self.values) == 1 else f"{self.key} in ({vals})"
        if self.operator == "NotIn":
            return f"{self.key}!={vals}" if len(self.values) == 1 else f"{self.key} notin ({vals})"
        if self.operator == "Exists":
            return self.key
        return f"!{self.key}"


@dataclass(frozen=True)
class Selector:
    """A compiled label selector: an AND of requirements. Hashable, so callers can cache
    "does selector S match label set L" across thousands of pods."""

    requirements: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        """True for `{}`: selects everything."""
        return not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        for r in self.requirements:
            if not r.matches(labels):
                return False
        return True

    def describe(self) -> str:
        """kubectl-style text ("app=web,tier in (a,b)"); "{}" for the empty selector."""
        if self.empty:
            return "{}"
        return ",".join(r.describe() for r in self.requirements)

    def __str__(self) -> str:
        return self.describe()


EVERYTHING = Selector()


def compile_selector(sel: Mapping[str, Any] | None) -> Selector | None:
    """Compile a metav1.LabelSelector dict. None stays None (the field was absent)."""
    if sel is None:
        return None
    if not isinstance(sel, Mapping):
        raise SelectorError(f"a label selector must be a mapping, got {type(sel).__name__}")
    reqs: list[Requirement] = []
    for key, value in sorted((sel.get("matchLabels") or {}).items()):
        reqs.append(Requirement(str(key), "In", frozenset([str(value)])))
    for i, expr in enumerate(sel.get("matchExpressions") or []):
        key, op = expr.get("key"), expr.get("operator")
        values = expr.get("values") or []
        if not key:
            raise SelectorError(f"matchExpressions[{i}].key: Required value")
        if op not in OPERATORS:
            raise SelectorError(
                f"matchExpressions[{i}].operator: Unsupported value: {op!r}: supported values: "
                + ", ".join(f'"{o}"' for o in OPERATORS))
        if op in ("In", "NotIn") and not values:
            raise SelectorError(f"matchExpressions[{i}].values: Required value: must be specified "
                                f"when `operator` is 'In' or 'NotIn'")
        if op in ("Exists", "DoesNotExist") and values:
            raise SelectorError(f"matchExpressions[{i}].values: Forbidden: may not be specified "
                                f"when `operator` is 'Exists' or 'DoesNotExist'")
        reqs.append(Requirement(str(key), op, frozenset(str(v) for v in values)))
    return Selector(tuple(reqs))


def matches(sel: Mapping[str, Any] | Selector | None, labels: Mapping[str, str]) -> bool:
    """Convenience: does selector dict (or compiled Selector) `sel` match `labels`?
    A None selector matches nothing (Kubernetes' "null selector")."""
    if sel is None:
        return False
    compiled = sel if isinstance(sel, Selector) else compile_selector(sel)
    assert compiled is not None
    return compiled.matches(labels)


#: A set-based term: "key in (a,b)" / "key notin (a,b)" (the operator is a whole word
#: followed by "(", so "app=notinuse" or "winter=in" are equality terms).
_SET_RE = re.compile(r"^\s*([^\s=!(),]+)\s+(in|notin)\s*\((.*)\)\s*$")
_SET_START_RE = re.compile(r"^\s*[^\s=!(),]+\s+(in|notin)\s*\(")
#: "k=v", "k==v", "k!=v" (a value may be empty, as kubectl allows).
_EQ_RE = re.compile(r"^\s*([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)\s*$")
#: "k" (Exists) and "!k" (DoesNotExist).
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([^\s=!(),]+)\s*$")
_VALUE_RE = re.compile(r"^[^\s=!(),]+$")


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses ("a in (x,y),b=c")."""
    parts: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _term(part: str) -> Requirement:
    if _SET_START_RE.match(part):
        m = _SET_RE.match(part)
        if not m:
            raise SelectorError(f"invalid selector term {part!r}: expected \"key in (a,b)\"")
        key, setop, vals = m.groups()
        # as labels.Parse: "()" and ",," stand for the empty value
        values = [v.strip() for v in vals.split(",")]
        if any(v and not _VALUE_RE.match(v) for v in values):
            raise SelectorError(f"invalid selector term {part!r}: bad value set")
        return Requirement(key, "In" if setop == "in" else "NotIn", frozenset(values))
    m = _EQ_RE.match(part)
    if m:
        key, op, value = m.groups()
        return Requirement(key, "NotIn" if op == "!=" else "In", frozenset([value]))
    m = _EXISTS_RE.match(part)
    if m:
        neg, key = m.groups()
        return Requirement(key, "DoesNotExist" if neg else "Exists")
    if part.lstrip().startswith(("=", "!=")) or part.lstrip().startswith("=="):
        raise SelectorError(f"invalid selector term {part!r}: missing key")
    raise SelectorError(f"invalid selector term {part!r}")


def parse_selector(text: str) -> Selector:
    """Parse kubectl's label selector syntax (k8s.io/apimachinery labels.Parse):
    "k=v,k2==v2,k3!=v3,k4 in (a,b),k5 notin (c),k6,!k7". Terms are ANDed; the empty
    string is the empty selector (everything). SelectorError for anything else."""
    return Selector(tuple(_term(part) for part in _split_top(text or "")))


def is_selector(text: str) -> bool:
    """Does `frm`-style text name pods by label selector rather than by pod name? A pod name
    never holds "=", "!", ",", "(" or a blank, and every selector but a bare key does; a
    bare key ("app") is read as a pod name, as kubectl's positional argument would be."""
    return bool(re.search(r"[=!,()\s]", text.strip()))


def labels_text(labels: Mapping[str, str]) -> str:
    """Labels as kubectl --show-labels prints them: "a=b,c=d" (sorted)."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"
