"""The templates: what kinds exist, their versions per channel and language, and previews."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from caremesh_kit.auth import Principal, Role, require
from caremesh_notifications.api.deps import Services
from caremesh_notifications.domain import Category, Channel, Content
from caremesh_notifications.domain.templates.localize import variables as localized

router = APIRouter(tags=["templates"])
Staff = Annotated[Principal, Depends(require(Role.COORDINATOR, Role.CLINICIAN))]


class KindOut(BaseModel):
    kind: str
    audience: str
    category: Category
    required: bool  # not opt-out-able
    consent: str | None  # the consent a family member must have given
    variables: dict[str, str]  # name -> sensitivity (plain, care, clinical)
    channels: dict[Channel, dict[str, list[int]]]  # channel -> language -> versions
    sample: dict[str, str]


class PreviewIn(BaseModel):
    channel: Channel
    language: str | None = None  # default English; a language we lack falls back as at send time
    version: int | None = Field(default=None, ge=1)  # default the latest
    variables: dict[str, str] | None = None  # default the kind's sample data


@router.get("/templates", response_model=list[KindOut])
async def list_templates(uc: Services, _: Staff) -> list[KindOut]:
    c = uc.templates.catalog
    return [
        KindOut(
            kind=k.name,
            audience=k.audience.name.lower(),
            category=k.rule.category,
            required=k.rule.required,
            consent=k.rule.consent,
            variables={n: s.name.lower() for n, s in k.variables.items()},
            channels={ch: {lang: c.versions(k.name, ch, lang) for lang in c.languages(k.name, ch)} for ch in Channel},
            sample=localized(k.sample, k.sample_zone, "en"),
        )
        for k in c.kinds.values()
    ]


@router.post("/templates/{kind}/preview", response_model=Content)
async def preview(kind: str, body: PreviewIn, uc: Services, _: Staff) -> Content:
    """Render one template version with sample data or the variables given: nothing is sent or stored."""
    return uc.templates.preview(kind, body.channel, body.language, body.version, body.variables)
