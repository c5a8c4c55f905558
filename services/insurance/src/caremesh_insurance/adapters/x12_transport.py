"""How an X12 interchange reaches a payer and its answer comes back.

No clearinghouse is reachable from here, so the transport is an interface; the HTTP one POSTs
the interchange as ``application/EDI-X12`` and reads the answer from the response body (the
real-time, synchronous mode of CAQH CORE, without its SOAP/MIME wrapping).
"""

from typing import Protocol

import httpx

from caremesh_insurance.domain.x12 import EDI_X12, PayerUnavailable


class X12Transport(Protocol):
    async def exchange(self, endpoint: str, interchange: str) -> str:
        """Send an interchange (a 270 or a 278) and return the payer's answer."""
        ...


class HttpX12Transport:
    def __init__(self, timeout_seconds: float = 10.0) -> None:
        self.timeout = timeout_seconds

    async def exchange(self, endpoint: str, interchange: str) -> str:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                r = await client.post(endpoint, content=interchange.encode(), headers={"content-type": EDI_X12})
        except httpx.HTTPError as exc:
            raise PayerUnavailable(f"the payer endpoint could not be reached ({type(exc).__name__})") from None
        if r.status_code != 200:
            raise PayerUnavailable(f"the payer endpoint answered HTTP {r.status_code}")
        return r.text
