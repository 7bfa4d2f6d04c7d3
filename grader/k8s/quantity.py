"""Resource quantities as the API server parses and prints them (k8s.io/apimachinery
`resource.Quantity`).

Quantities are exact (fractions), and printed in the API server's canonical form
("4" for 4000m, "640Mi", "2560Mi"), so a message reads exactly as `kubectl` shows it.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from fractions import Fraction

_BINARY = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {v: k for k, v in _DECIMAL.items()}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$")


def _fraction(*args: Any) -> "Fraction":
    """Fraction(*args), with fractions (and the decimal module it loads) imported on first
    use: pods that ask for no resources, as `svclab matrix`'s usually do, never need them."""
    from fractions import Fraction

    return Fraction(*args)


class Quantity:
    """A resource.Quantity: an exact value and whether it prints in binary (Mi, Gi) form."""

    __slots__ = ("value", "binary")

    def __init__(self, value: Fraction | int = 0, binary: bool = False) -> None:
        self.value = _fraction(value)
        self.binary = binary

    @classmethod
    def parse(cls, text: Any) -> "Quantity":
        """'200m', '1', '0.5', '128Mi', '1e3'; ValueError (with the API server's words) else."""
        s = str(text).strip()
        m = _QUANTITY.match(s)
        if not m:
            raise ValueError(f"quantities must match the regular expression "
                             f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {s!r}")
        number, suffix, exponent = m.group(1), m.group(2), m.group(3)
        value = _fraction(number)
        if suffix in _BINARY:
            return cls(value * _BINARY[suffix], binary=True)
        if exponent is not None:
            return cls(value * _fraction(10) ** int(exponent))
        return cls(value * _fraction(10) ** _DECIMAL[suffix or ""])

    def __add__(self, other: "Quantity") -> "Quantity":
        # resource.Quantity.Add keeps the receiver's format unless the receiver is zero
        return Quantity(self.value + other.value, self.binary if self.value else other.binary)

    def __sub__(self, other: "Quantity") -> "Quantity":
        return Quantity(self.value - other.value, self.binary if self.value else other.binary)

    def __mul__(self, n: int) -> "Quantity":
        return Quantity(self.value * n, self.binary)

    def __str__(self) -> str:
        """The canonical form resource.Quantity.String() prints."""
        v = self.value
        if v == 0:
            return "0"
        if self.binary and v.denominator == 1 and abs(v) >= 1024:
            n = int(v)
            for suffix, size in sorted(_BINARY.items(), key=lambda kv: -kv[1]):
                if n % size == 0:
                    return f"{n // size}{suffix}"
            return str(n)
        # decimal SI: the largest exponent (a multiple of 3) that keeps the mantissa whole;
        # below a nano-unit the value rounds up, as the API server rounds
        for exp in range(18, -10, -3):
            mantissa = v / _fraction(10) ** exp
            if mantissa.denominator == 1:
                return f"{mantissa.numerator}{_DECIMAL_SUFFIX[exp]}"
        nanos = -((-v * 10 ** 9) // 1)
        return str(Quantity(_fraction(nanos, 10 ** 9)))

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"


ResourceList = dict[str, Quantity]


def parse_list(raw: Any) -> ResourceList:
    """A ResourceList from YAML ({cpu: 200m, memory: 128Mi}); values that do not parse are
    left out (schema validation reports them)."""
    out: ResourceList = {}
    for k, v in (raw or {}).items() if isinstance(raw, Mapping) else ():
        try:
            out[str(k)] = Quantity.parse(v)
        except ValueError:
            continue
    return out
