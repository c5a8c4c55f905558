"""Records' data as FHIR R4B resources, built with the R4B models. Pure: no I/O."""
