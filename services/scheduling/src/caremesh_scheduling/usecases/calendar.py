"""The calendar: practitioners, locations, service types and templates, and the slot a template
derives for a booking."""

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from caremesh_kit import context
from caremesh_kit.clock import Clock
from caremesh_kit.errors import Conflict, Invalid, NotFound
from caremesh_scheduling.domain import (
    Location,
    LocationDetails,
    Practitioner,
    PractitionerDetails,
    ServiceType,
    ServiceTypeDetails,
    Slot,
    SlotRef,
    Template,
    TemplateSpec,
    check_template,
    fits,
    offered,
    template_id,
)
from caremesh_scheduling.store import AppointmentStore, CalendarStore
from caremesh_scheduling.usecases.calendar_view import CalendarView


class TemplateConflict(BaseModel):
    """An existing appointment the changed template no longer covers; it stays as booked."""

    appointment_id: str
    start: datetime
    end: datetime
    status: str
    reason: str  # outside_availability, service_not_offered or room_changed


class CalendarAdmin:
    def __init__(self, store: CalendarStore, appointments: AppointmentStore, view: CalendarView, clock: Clock) -> None:
        self.store = store
        self.appointments = appointments
        self.view = view
        self.clock = clock
        # Practitioners' names by id. A practitioner never changes once added (nothing updates one),
        # so a name read once will do, as for locations.
        self._names: dict[str, str] = {}

    # -- practitioners, locations, service types ---------------------------------------------------
    async def add_practitioner(self, details: PractitionerDetails) -> Practitioner:
        practitioner = await self.store.practitioners.add(Practitioner(id=context.new_id(), details=details))
        self._names[practitioner.id] = details.name
        return practitioner

    async def practitioner(self, practitioner_id: str) -> Practitioner:
        return await self.store.practitioners.get(practitioner_id)

    async def practitioner_name(self, practitioner_id: str) -> str:
        name = self._names.get(practitioner_id)
        if name is None:
            name = self._names[practitioner_id] = (await self.practitioner(practitioner_id)).details.name
        return name

    async def add_location(self, details: LocationDetails) -> Location:
        location = await self.store.locations.add(Location(id=context.new_id(), details=details))
        self.view.put(location)
        return location

    async def add_service_type(self, details: ServiceTypeDetails) -> ServiceType:
        service = await self.store.service_types.add(ServiceType(id=context.new_id(), details=details))
        self.view.put(service)
        return service

    async def find_location(self, location_id: str) -> Location | None:
        """Locations never change, so the view's copy will do; the store if it has none yet."""
        return self.view.locations.get(location_id) or await self.store.locations.find(location_id)

    async def location(self, location_id: str, field: str = "location_id") -> Location:
        found = await self.find_location(location_id)
        if found is None:
            raise NotFound(f"Location {location_id} not found", field=field)
        return found

    async def service_type(self, service_type_id: str, field: str = "service_type_id") -> ServiceType:
        found = self.view.service_types.get(service_type_id) or await self.store.service_types.find(service_type_id)
        if found is None:
            raise NotFound(f"ServiceType {service_type_id} not found", field=field)
        return found

    async def list_practitioners(self, limit: int, offset: int) -> list[Practitioner]:
        return await self.store.practitioners_page(offset, limit)

    async def list_locations(self) -> list[Location]:
        await self.view.ready()
        return sorted(self.view.locations.values(), key=lambda loc: loc.details.name)

    async def list_service_types(self) -> list[ServiceType]:
        await self.view.ready()
        return sorted(self.view.service_types.values(), key=lambda s: (s.details.code, s.details.name))

    # -- templates ---------------------------------------------------------------------------------
    async def put_template(
        self, practitioner_id: str, location_id: str, spec: TemplateSpec, version: int | None, by: str
    ) -> tuple[Template, bool, list[TemplateConflict]]:
        """Create or replace the practitioner's template at the location. Existing appointments
        stay where they are; those the new template does not cover come back as conflicts."""
        await self.store.practitioners.get(practitioner_id)
        location = await self.location(location_id)
        services = {}
        for i, sid in enumerate(spec.service_type_ids):
            found = self.view.service_types.get(sid) or await self.store.service_types.find(sid)
            if found is None:
                raise NotFound(f"ServiceType {sid} not found", field=f"service_type_ids.{i}")
            services[sid] = found
        check_template(spec, location, services)
        now, tid = self.clock(), template_id(practitioner_id, location_id)
        templates = self.store.templates

        def replace(t: Template) -> None:
            t.spec, t.updated_at, t.updated_by = spec, now, by

        created = False
        if await templates.find(tid) is None and version in (None, 0):
            try:
                template = await templates.add(
                    Template(
                        id=tid,
                        practitioner_id=practitioner_id,
                        location_id=location_id,
                        spec=spec,
                        updated_at=now,
                        updated_by=by,
                    )
                )
                created = True
            except Conflict:  # created concurrently: replace that one
                template = await templates.mutate(tid, replace, expected_version=version)
        else:
            template = await templates.mutate(tid, replace, expected_version=version)
        self.view.put(template)
        return template, created, await self.conflicts(template, location, now)

    async def conflicts(self, template: Template, location: Location, now: datetime) -> list[TemplateConflict]:
        tz = ZoneInfo(location.time_zone)
        out = []
        for a in await self.appointments.holding_after(now, template.practitioner_id, template.location_id):
            start, end = a.footprint
            if reason := fits(template.spec, tz, a.service_type_id, start, end, a.room):
                out.append(
                    TemplateConflict(
                        appointment_id=a.id, start=a.start, end=a.end, status=a.status.value, reason=reason
                    )
                )
        return sorted(out, key=lambda c: (c.start, c.appointment_id))

    async def template(self, practitioner_id: str, location_id: str) -> Template:
        found = await self.store.templates.find(template_id(practitioner_id, location_id))
        if found is None:
            raise NotFound(
                f"practitioner {practitioner_id} has no template at location {location_id}", field="location_id"
            )
        return found

    async def templates_of(self, practitioner_id: str) -> list[Template]:
        await self.store.practitioners.get(practitioner_id)
        return await self.store.templates_of(practitioner_id)

    # -- the slot a booking names ------------------------------------------------------------------
    async def derive_slot(self, ref: SlotRef | str) -> tuple[Slot, str]:
        """The slot the template derives for ``ref`` now, and the request field that named it."""
        by_id = isinstance(ref, str)
        if isinstance(ref, str):
            ref = SlotRef.of(ref)
        field = "slot_id" if by_id else "start"
        template = await self.store.templates.find(template_id(ref.practitioner_id, ref.location_id))
        if template is None:
            raise NotFound(
                f"practitioner {ref.practitioner_id} has no availability at location {ref.location_id}",
                field="slot_id" if by_id else "location_id",
            )
        location = await self.location(ref.location_id, "slot_id" if by_id else "location_id")
        service = await self.service_type(ref.service_type_id, "slot_id" if by_id else "service_type_id")
        slot = offered(template.spec, ref.practitioner_id, ref.location_id, location.time_zone, service, ref.start)
        if slot is None:
            raise Invalid("that time is not in the practitioner's availability for this service", field=field)
        return slot, field
