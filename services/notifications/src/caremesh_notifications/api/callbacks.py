"""The SMS provider's delivery-status callback (Twilio's StatusCallback).

Not behind a bearer token: the provider cannot send one. It signs each callback instead
(``X-Twilio-Signature``, keyed with our auth token over the exact URL we gave it), and we refuse
any callback whose signature or account does not match.
"""

from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response

from caremesh_kit import context
from caremesh_kit.audit import Action, AuditEntry, Purpose
from caremesh_notifications.api.deps import Services

router = APIRouter(tags=["callbacks"])
PROVIDER = "sms-provider"  # the audit trail's actor for provider callbacks


@router.post(
    "/callbacks/sms/status",
    status_code=204,
    response_class=Response,
    responses={403: {"description": "invalid provider signature"}, 404: {"description": "SMS reports are off"}},
)
async def sms_status(request: Request, uc: Services) -> Response:
    reports = uc.reports
    if not reports.configured:
        raise HTTPException(404, "SMS delivery reports are not configured")
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    if not reports.authentic(request.url.query, form, request.headers.get(reports.signature_header)):
        raise HTTPException(403, "invalid provider signature")
    if not reports.complete(form):
        raise HTTPException(422, "AccountSid, MessageSid and MessageStatus are required")
    message = await reports.delivery_report(
        request.query_params.get("message_id"), form["MessageSid"], form["MessageStatus"], form.get("ErrorCode") or None
    )
    await uc.audit.record(
        AuditEntry(
            id=context.new_id(),
            at=uc.clock(),
            service=uc.audit.service,
            actor=PROVIDER,
            roles=["service"],
            action=Action.UPDATE,
            resource_type="Message",
            resource_id=message.id,
            patient_id=message.patient_id,
            purpose=Purpose.HOPERAT,
            allowed=True,
            route="POST /callbacks/sms/status",
            correlation_id=context.correlation_id.get(),
        )
    )
    return Response(status_code=204)
