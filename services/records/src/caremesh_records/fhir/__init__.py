"""Records' data as FHIR R4B resources: ``mapping`` builds them, ``api`` serves them under /fhir."""

from caremesh_records.fhir import api, mapping

__all__ = ["api", "mapping"]
