"""ASC X12: eligibility (005010X279A1: the 270 inquiry out, the 271 response in), the 278 review
request of prior authorizations (005010X217) with its strict check, and the transport."""

from caremesh_insurance.x12.envelope import X12Error
from caremesh_insurance.x12.request import Inquiry270, Person270, build_270
from caremesh_insurance.x12.response import Response271, parse_271
from caremesh_insurance.x12.transport import HttpX12Transport, PayerUnavailable, X12Transport

__all__ = [
    "HttpX12Transport",
    "Inquiry270",
    "PayerUnavailable",
    "Person270",
    "Response271",
    "X12Error",
    "X12Transport",
    "build_270",
    "parse_271",
]
