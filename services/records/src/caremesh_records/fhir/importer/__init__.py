"""Import of FHIR R4 transaction and collection Bundles (e.g. Synthea output) into records.

Pure: ``bundle`` (envelope and references), ``patient`` and ``clinical`` (the mappers), ``plan``
and ``report``. I/O: ``writer`` (stores a plan), ``jobs`` (bulk imports), ``api`` (HTTP).
``handlers`` is the table of resource types and how each is imported.
"""

from caremesh_records.fhir.importer.api import router
from caremesh_records.fhir.importer.handlers import HANDLERS, NOT_IMPORTED
from caremesh_records.fhir.importer.service import FhirImport, plan_of

__all__ = ["HANDLERS", "NOT_IMPORTED", "FhirImport", "plan_of", "router"]
