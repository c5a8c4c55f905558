"""ASC X12, pure Python (parsing and building, no I/O): eligibility (005010X279A1: the 270
inquiry out, the 271 response in), the 278 review request of prior authorizations (005010X217)
with its strict check, and who we are in an interchange. The transport is in ``adapters``."""

from caremesh_insurance.domain.x12.envelope import EDI_X12, PayerUnavailable, X12Error
from caremesh_insurance.domain.x12.identity import X12Identity
from caremesh_insurance.domain.x12.request import Inquiry270, Person270, build_270
from caremesh_insurance.domain.x12.response import Response271, parse_271

__all__ = [
    "EDI_X12",
    "Inquiry270",
    "PayerUnavailable",
    "Person270",
    "Response271",
    "X12Error",
    "X12Identity",
    "build_270",
    "parse_271",
]
