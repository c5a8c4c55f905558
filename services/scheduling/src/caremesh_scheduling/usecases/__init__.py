"""Scheduling's service layer: one object for the HTTP API and the event handlers."""

from caremesh_scheduling.usecases.booking import Scheduling, SlotRef
from caremesh_scheduling.usecases.calendar import CalendarService, TemplateConflict

__all__ = ["CalendarService", "Scheduling", "SlotRef", "TemplateConflict"]
