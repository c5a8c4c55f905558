"""Who is calling: the roles CareMesh knows, the SMART scopes the token carries, and the patient
the caller is bound to."""

from dataclasses import dataclass
from enum import StrEnum

from caremesh_kit.auth.scopes import Context, Scopes


class Role(StrEnum):
    COORDINATOR = "coordinator"
    CLINICIAN = "clinician"
    PATIENT = "patient"
    ADMIN = "admin"
    # Other CareMesh components and partner integrations acting as a system.
    SERVICE = "service"


STAFF = frozenset({Role.COORDINATOR, Role.CLINICIAN, Role.ADMIN, Role.SERVICE})


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    # The one patient whose data the caller may see: a patient's own id, or the patient a staff
    # app was launched for (SMART ``patient`` context). None for staff: every patient.
    patient_id: str | None = None
    # None: a role token, limited by its roles only. Otherwise what the app was granted, on top
    # of (never beyond) what the user's roles allow.
    scopes: Scopes | None = None

    def may_see_patient(self, patient_id: str) -> bool:
        if self.patient_id is not None:
            return self.patient_id == patient_id
        return bool(self.roles & STAFF)

    def permits(self, resource: str, interaction: str) -> bool:
        """Whether the token's scopes allow ``interaction`` (c, r, u, d or s) on ``resource``."""
        return self.scopes is None or self.scopes.permits(resource, interaction)

    @property
    def patient_bound(self) -> bool:
        return self.patient_id is not None

    @property
    def key(self) -> str:
        """Everything that decides what this caller may do, as one string."""
        scopes = "" if self.scopes is None else str(self.scopes)
        return f"{self.subject}|{','.join(sorted(self.roles))}|{self.patient_id or ''}|{scopes}"


def roles_for(roles: frozenset[Role], scopes: Scopes | None, patient_id: str | None) -> frozenset[Role]:
    """The compatibility mapping: a SMART token without CareMesh roles acts as the role its scopes
    imply (``system/`` a service, ``patient/`` a patient). ``user/`` scopes never imply a staff role:
    the identity provider must say which staff role the user holds."""
    if roles or scopes is None:
        return roles
    if Context.SYSTEM in scopes.contexts and patient_id is None:
        return frozenset({Role.SERVICE})
    if patient_id is not None:
        return frozenset({Role.PATIENT})
    return roles
