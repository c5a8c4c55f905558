"""Payer adapters: how one coverage's eligibility is established.

``RulesAdapter`` decides from the plan data (the default). ``X12Adapter`` asks the payer with a
270 through an ``X12Transport`` and reads its 271. When the payer cannot be asked or its answer
cannot be read, the rules decide and the result says why (``payer_error``), so an appointment
never waits on a payer that is down; the next re-check asks again.
"""

import secrets
import uuid

from caremesh_insurance.adapters.x12_transport import X12Transport
from caremesh_insurance.domain.eligibility import x12_mapping
from caremesh_insurance.domain.eligibility.decision import EligibilityResult, Inquiry, evaluate
from caremesh_insurance.domain.plans import EligibilityAdapterName
from caremesh_insurance.domain.x12 import PayerUnavailable, X12Error, X12Identity, build_270, parse_271
from caremesh_kit.clock import Clock


class RulesAdapter:
    name = EligibilityAdapterName.RULES.value

    async def check(self, inquiry: Inquiry) -> EligibilityResult:
        return evaluate(inquiry.coverage, inquiry.plan, inquiry.day, inquiry.service_code, inquiry.visits)


class X12Adapter:
    name = EligibilityAdapterName.X12.value

    def __init__(self, transport: X12Transport, identity: X12Identity, clock: Clock) -> None:
        self.transport, self.identity, self.clock = transport, identity, clock
        self.rules = RulesAdapter()

    async def check(self, inquiry: Inquiry) -> EligibilityResult:
        q = inquiry
        if not q.coverage.active_on(q.day) or q.payer is None or q.payer.terms.x12_endpoint is None:
            return await self.rules.check(q)  # lapsed by its own dates: nothing to ask
        request = response = None
        trace = uuid.uuid4().hex
        try:
            request = build_270(
                x12_mapping.inquiry_for(
                    q.coverage,
                    q.payer,
                    provider_name=self.identity.provider_name,
                    provider_npi=self.identity.provider_npi,
                    sender_id=self.identity.sender_id,
                    trace=trace,
                    trace_originator=self.identity.trace_originator,
                    control_number=secrets.randbelow(999_999_999) + 1,
                    day=q.day,
                    now=self.clock(),
                    usage=self.identity.usage,
                )
            )
            response = await self.transport.exchange(str(q.payer.terms.x12_endpoint), request)
            result = x12_mapping.interpret(
                parse_271(response), trace, q.coverage, q.plan, q.day, q.service_code, q.visits
            )
        except (PayerUnavailable, X12Error, ValueError) as exc:
            what = "the payer's 271 is not valid: " if isinstance(exc, X12Error) else ""
            result = (await self.rules.check(q)).model_copy(update={"payer_error": f"{what}{exc}"})
        return result.model_copy(update={"x12_request": request, "x12_response": response})
