"""CareMesh records: patients and their timeline."""
