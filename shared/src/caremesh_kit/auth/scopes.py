"""SMART on FHIR scopes (v2, and v1's read/write), as a token's ``scope`` claim carries them.

``patient/Appointment.rs``: the app may read and search Appointments of the token's patient (its
``patient`` launch context); ``user/*.cruds``: everything the signed-in user may do; and
``system/Patient.r``: a backend service with no user. Interactions are the v2 letters c, r, u,
d, s; v1's ``read`` is ``rs``, ``write`` is ``cud`` and ``*`` is all five. A scope with query
parameters (a granular scope) narrows by category, which CareMesh does not model: it grants nothing
rather than more than it says.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

INTERACTIONS = "cruds"
_V1 = {"read": "rs", "write": "cud", "*": INTERACTIONS}
_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]*)\.(\*|read|write|c?r?u?d?s?)$")


class Context(StrEnum):
    PATIENT = "patient"
    USER = "user"
    SYSTEM = "system"


@dataclass(frozen=True)
class Scope:
    context: Context
    resource: str  # a FHIR resource type, or "*"
    interactions: frozenset[str]

    def permits(self, resource: str, interaction: str) -> bool:
        return self.resource in ("*", resource) and interaction in self.interactions


def parse_one(text: str) -> Scope | None:
    """The scope ``text`` names, or None when it grants no resource access (``openid``,
    ``launch/patient``, granular or malformed scopes)."""
    m = _SCOPE.match(text)
    if not m or not m.group(3):
        return None
    context, resource, what = m.groups()
    return Scope(Context(context), resource, frozenset(_V1.get(what, what)))


@dataclass(frozen=True)
class Scopes:
    granted: frozenset[Scope]

    @classmethod
    def parse(cls, claim: object) -> "Scopes | None":
        """None when the token carries no scope claim at all: it is then limited by its roles only.
        A space-separated string or a list of strings (Entra ID's ``scp``); a claim of any other
        shape grants nothing rather than failing the request."""
        if claim is None:
            return None
        words: Iterable[str] = ()
        if isinstance(claim, str):
            words = claim.split()
        elif isinstance(claim, list | tuple):
            words = [w for w in claim if isinstance(w, str)]
        return cls(frozenset(s for s in map(parse_one, words) if s is not None))

    @property
    def contexts(self) -> frozenset[Context]:
        return frozenset(s.context for s in self.granted)

    def permits(self, resource: str, interaction: str) -> bool:
        return any(s.permits(resource, interaction) for s in self.granted)

    def __str__(self) -> str:
        return " ".join(
            sorted(
                f"{s.context}/{s.resource}.{''.join(c for c in INTERACTIONS if c in s.interactions)}"
                for s in self.granted
            )
        )
