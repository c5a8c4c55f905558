"""Message templates: kinds, choosing a version per channel and language, checks and rendering. Pure:
the template files are read by ``adapters.templates`` and handed in as ``Source`` texts."""

from caremesh_notifications.domain.templates.catalog import LOCK, Catalog, Source, TemplateCheckError, UnknownTemplate
from caremesh_notifications.domain.templates.kinds import CEILING, KINDS, PARTS, Audience, Kind, Sensitivity

__all__ = [
    "CEILING",
    "KINDS",
    "LOCK",
    "PARTS",
    "Audience",
    "Catalog",
    "Kind",
    "Sensitivity",
    "Source",
    "TemplateCheckError",
    "UnknownTemplate",
]
