"""Message templates: kinds, versioned Jinja2 files per channel and language, checks and rendering."""

from caremesh_notifications.templates.engine import Catalog, TemplateCheckError, UnknownTemplate
from caremesh_notifications.templates.kinds import CEILING, KINDS, PARTS, Audience, Kind, Sensitivity

__all__ = [
    "CEILING",
    "KINDS",
    "PARTS",
    "Audience",
    "Catalog",
    "Kind",
    "Sensitivity",
    "TemplateCheckError",
    "UnknownTemplate",
]
