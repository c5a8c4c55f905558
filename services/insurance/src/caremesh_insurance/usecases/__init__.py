"""Insurance's use cases, one module per capability, each a class given its store, adapters (as
``ports``) and the clock by the composition root; ``UseCases`` holds them all for the routes and
the event handlers.

- ``plans``: payers and plans (``PlanCatalog``); ``coverages``: a patient's coverages;
- ``eligibility``: checks on events and on demand, re-checks, the pre-visit sweep;
- ``authorizations``: prior authorizations (the gate on requested visits, coordinators' records,
  units used, the review sweep); ``worklists``: coordinators' worklists and the turnaround report;
- ``correspondence``: the payer correspondence log.
"""

from dataclasses import dataclass

from caremesh_insurance.usecases.authorizations import PriorAuthorizationRequests
from caremesh_insurance.usecases.correspondence import CorrespondenceLog
from caremesh_insurance.usecases.coverages import CoverageRegistry
from caremesh_insurance.usecases.eligibility import Eligibility
from caremesh_insurance.usecases.plans import PlanCatalog
from caremesh_insurance.usecases.worklists import Worklists
from caremesh_kit.clock import Clock


@dataclass(frozen=True)
class UseCases:
    plans: PlanCatalog
    coverages: CoverageRegistry
    eligibility: Eligibility
    authorizations: PriorAuthorizationRequests
    worklists: Worklists
    correspondence: CorrespondenceLog
    clock: Clock  # what "now" is for a representation (e.g. whether an authorization is overdue)


__all__ = [
    "CorrespondenceLog",
    "CoverageRegistry",
    "Eligibility",
    "PlanCatalog",
    "PriorAuthorizationRequests",
    "UseCases",
    "Worklists",
]
