"""Insurance's HTTP API, one module per resource group; routes reach the use cases only."""

from fastapi import APIRouter

from caremesh_insurance.api import authorizations, correspondence, coverages, eligibility, plans, worklists


def routers() -> list[APIRouter]:
    return [
        plans.router,
        coverages.router,
        eligibility.router,
        authorizations.router,
        correspondence.router,
        worklists.router,
    ]
