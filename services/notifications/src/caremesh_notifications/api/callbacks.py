"""The SMS provider's delivery-status callback (Twilio's StatusCallback).

Not behind a bearer token: the provider cannot send one. It signs each callback instead
(``X-Twilio-Signature``, keyed with our auth token over the exact URL we gave it), and we refuse
any callback whose signature or account does not match.
"""

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from caremesh_kit import context
from caremesh_kit.audit import Action, AuditEntry, Purpose
from caremesh_kit.http import use_cases
from caremesh_notifications.channels.sms import SIGNATURE_HEADER, valid_signature
from caremesh_notifications.usecases import Notifications

router = APIRouter(tags=["callbacks"])
Uc = Annotated[Notifications, Depends(use_cases)]
PROVIDER = "sms-provider"  # the audit trail's actor for provider callbacks


def signed_url(base: str, request: Request) -> str:
    """The URL the provider called, as we gave it: our public base with the query it carried."""
    return urlsplit(base)._replace(query=request.url.query).geturl()


@router.post("/callbacks/sms/status", status_code=204, response_class=Response)
async def sms_status(request: Request, uc: Uc) -> Response:
    s = request.app.state.settings
    if not (s.sms_provider_url and s.sms_status_callback_url):
        raise HTTPException(404, "SMS delivery reports are not configured")
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    if not valid_signature(
        s.sms_auth_token, signed_url(s.sms_status_callback_url, request), form, request.headers.get(SIGNATURE_HEADER)
    ):
        raise HTTPException(403, "invalid provider signature")
    if form.get("AccountSid") != s.sms_account_sid or not form.get("MessageSid") or not form.get("MessageStatus"):
        raise HTTPException(422, "AccountSid, MessageSid and MessageStatus are required")
    message = await uc.delivery_report(
        request.query_params.get("message_id"), form["MessageSid"], form["MessageStatus"], form.get("ErrorCode") or None
    )
    await request.app.state.audit.record(
        AuditEntry(
            id=context.new_id(),
            at=datetime.now(UTC),
            service=request.app.state.audit.service,
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
