"""Import of FHIR R4 transaction and collection Bundles (e.g. Synthea output) into records.

Pure: ``bundle`` (envelope and references), ``patient``, ``clinical``, ``encounters`` and ``careplans`` (the
mappers), ``plan`` and ``report``. I/O, through the store and the other use cases: ``writer``
(stores a plan, and ``careplans.write_care_plan``), ``jobs`` (bulk imports), ``service`` (one
bundle now). ``handlers`` is the table of resource types and how each is imported.
"""

from caremesh_records.usecases.fhir_import.handlers import HANDLERS, NOT_IMPORTED
from caremesh_records.usecases.fhir_import.jobs import ImportJobs
from caremesh_records.usecases.fhir_import.service import FhirImport, plan_of
from caremesh_records.usecases.fhir_import.writer import Targets

__all__ = ["HANDLERS", "NOT_IMPORTED", "FhirImport", "ImportJobs", "Targets", "plan_of"]
