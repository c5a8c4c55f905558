"""Measurable goal targets: a coded measure, a comparator or a range, a value and a UCUM unit.

E.g. HbA1c (LOINC 4548-4) < 7 %, or systolic blood pressure (LOINC 8480-6) between 90 and 130
mm[Hg]. Pure Python: no I/O.
"""

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, FiniteFloat, StringConstraints

from caremesh_kit.errors import Invalid
from caremesh_records.domain import codes
from caremesh_records.domain.codes import SNOMED, Coding

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

# A UCUM code as written (e.g. %, mg/dL, mm[Hg], kg/m2): printable ASCII, no spaces. The UCUM
# grammar itself is not checked, only that the unit matches the target's (no conversions).
Unit = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[!-~]{1,30}$")]


class Comparator(StrEnum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


class Target(BaseModel):
    """What a goal aims at: ``comparator`` and ``value`` (e.g. < 7), or ``low`` and ``high`` (a
    range, both ends included), in ``unit``, by ``due_date`` (optional)."""

    measure: Coding = Field(description="LOINC or SNOMED CT, e.g. LOINC 4548-4 Hemoglobin A1c")
    comparator: Comparator | None = None
    value: FiniteFloat | None = None
    low: FiniteFloat | None = None
    high: FiniteFloat | None = None
    unit: Unit = Field(description="UCUM, e.g. %, mg/dL, mm[Hg]")
    due_date: date | None = None

    @property
    def is_range(self) -> bool:
        return self.comparator is None

    def check(self, field: str) -> None:
        """Invalid, naming the field under ``field``, unless the target is one clear shape."""
        measure_code(f"{field}.measure", self.measure)
        if self.comparator is not None:
            if self.value is None:
                raise Invalid(f"{field}.value is required with a comparator", field=f"{field}.value")
            if self.low is not None or self.high is not None:
                raise Invalid("give a comparator and value, or low and high, not both", field=f"{field}.low")
            return
        if self.value is not None:
            raise Invalid(f"{field}.comparator is required with a value", field=f"{field}.comparator")
        for end in ("low", "high"):
            if getattr(self, end) is None:
                raise Invalid(
                    f"{field}.{end} is required for a range (or give a comparator and value)", field=f"{field}.{end}"
                )
        low, high = self._range()
        if low > high:
            raise Invalid(f"{field}.low is above {field}.high", field=f"{field}.low")

    def _value(self) -> float:
        """The bound of a comparator target (``check`` made sure there is one)."""
        if self.value is None:
            raise ValueError("a comparator target without a value: check() it first")
        return self.value

    def _range(self) -> tuple[float, float]:
        """The ends of a range target (``check`` made sure there are both)."""
        if self.low is None or self.high is None:
            raise ValueError("a range target without both ends: check() it first")
        return self.low, self.high

    def meets(self, x: float) -> bool:
        match self.comparator:
            case Comparator.LT:
                return x < self._value()
            case Comparator.LE:
                return x <= self._value()
            case Comparator.GT:
                return x > self._value()
            case Comparator.GE:
                return x >= self._value()
        low, high = self._range()
        return low <= x <= high

    def distance(self, x: float) -> float:
        """How far ``x`` is from the target (0 inside it, and at a strict comparator's bound)."""
        match self.comparator:
            case Comparator.LT | Comparator.LE:
                return max(0.0, x - self._value())
            case Comparator.GT | Comparator.GE:
                return max(0.0, self._value() - x)
        low, high = self._range()
        return max(0.0, low - x, x - high)

    def text(self) -> str:
        if self.comparator is not None:
            return f"{self.measure.display} {self.comparator.value} {self.value:g} {self.unit}"
        return f"{self.measure.display} {self.low:g}–{self.high:g} {self.unit}"


_LOINC = re.compile(r"([0-9]{1,7})-([0-9])")


def loinc_problem(code: str) -> str | None:
    """Why ``code`` is not a LOINC code, or None. LOINC's check digit is the mod-10 (Luhn) one."""
    m = _LOINC.fullmatch(code)
    if not m:
        return "expected digits, a hyphen and a check digit (e.g. 4548-4)"
    total = 0
    for i, ch in enumerate(reversed(m[1])):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    if str((10 - total % 10) % 10) != m[2]:
        return "the check digit does not match (mistyped code?)"
    return None


def measure_code(field: str, coding: Coding) -> Coding:
    """A goal's measure: LOINC (format and check digit) or SNOMED CT; Invalid naming the field."""
    if coding.system == LOINC:
        if why := loinc_problem(coding.code):
            raise Invalid(f"{field}.code is not a valid LOINC code: {why}", field=f"{field}.code")
        return coding
    if coding.system != SNOMED:
        raise Invalid(f"{field}.system must be LOINC ({LOINC}) or SNOMED CT ({SNOMED})", field=f"{field}.system")
    return codes.check(field, coding, (SNOMED,))
