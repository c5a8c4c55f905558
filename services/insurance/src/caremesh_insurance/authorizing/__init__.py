"""Prior-authorization use cases (``service``), worklists and the turnaround report (``reports``),
and their Prometheus figures (``metrics``)."""

from caremesh_insurance.authorizing.reports import Reports
from caremesh_insurance.authorizing.service import Authorizations

__all__ = ["Authorizations", "Reports"]
