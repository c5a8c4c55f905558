"""Who we are in X12 interchanges (from the settings)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class X12Identity:
    """ISA06/GS02, the provider of loop 2100B (270) or 2010B (278), and TRN03."""

    sender_id: str
    provider_name: str
    provider_npi: str
    trace_originator: str
    usage: str = "T"
