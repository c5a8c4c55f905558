"""Outbound I/O other than the store and the bus (e.g. a terminology server, a partner's FHIR
endpoint) would go here. Records has none today: it only reads and writes its own store."""
