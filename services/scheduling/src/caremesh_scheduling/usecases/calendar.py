"""Calendar use cases: practitioners, locations, service types, templates, availability search,
and the coverage copy the search filters by."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from caremesh_contracts import CoverageChanged, CoverageRegistered
from caremesh_kit import context
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, NotFound
from caremesh_kit.store import Repository
from caremesh_scheduling.domain import (
    KnownCoverage,
    Location,
    LocationDetails,
    PatientCoverage,
    Practitioner,
    PractitionerDetails,
    Query,
    ServiceType,
    ServiceTypeDetails,
    Slot,
    Template,
    TemplateSpec,
    check_template,
    fits,
    search,
    template_id,
    utcnow,
)
from caremesh_scheduling.store import Appointments, all_of
from caremesh_scheduling.view import CalendarView


class TemplateConflict(BaseModel):
    """An existing appointment the changed template no longer covers; it stays as booked."""

    appointment_id: str
    start: datetime
    end: datetime
    status: str
    reason: str  # outside_availability, service_not_offered or room_changed


@dataclass
class CalendarService:
    practitioners: Repository[Practitioner]
    locations: Repository[Location]
    service_types: Repository[ServiceType]
    templates: Repository[Template]
    appointments: Appointments
    coverage: Repository[PatientCoverage]
    view: CalendarView
    # Practitioners' names by id. A practitioner never changes once added (nothing updates one),
    # so a name read once will do, as for locations.
    _names: dict[str, str] = field(default_factory=dict)

    # -- practitioners, locations, service types ---------------------------------------------------
    async def add_practitioner(self, details: PractitionerDetails) -> Practitioner:
        practitioner = await self.practitioners.add(Practitioner(id=context.new_id(), details=details))
        self._names[practitioner.id] = details.name
        return practitioner

    async def practitioner_name(self, practitioner_id: str) -> str:
        name = self._names.get(practitioner_id)
        if name is None:
            name = self._names[practitioner_id] = (await self.practitioners.get(practitioner_id)).details.name
        return name

    async def add_location(self, details: LocationDetails) -> Location:
        location = await self.locations.add(Location(id=context.new_id(), details=details))
        self.view.put(location)
        return location

    async def add_service_type(self, details: ServiceTypeDetails) -> ServiceType:
        service = await self.service_types.add(ServiceType(id=context.new_id(), details=details))
        self.view.put(service)
        return service

    async def location(self, location_id: str, field: str = "location_id") -> Location:
        """Locations never change, so the view's copy will do; the store if it has none yet."""
        found = self.view.locations.get(location_id) or await self.locations.find(location_id)
        if found is None:
            raise NotFound(f"Location {location_id} not found", field=field)
        return found

    async def service_type(self, service_type_id: str, field: str = "service_type_id") -> ServiceType:
        found = self.view.service_types.get(service_type_id) or await self.service_types.find(service_type_id)
        if found is None:
            raise NotFound(f"ServiceType {service_type_id} not found", field=field)
        return found

    async def list_practitioners(self, limit: int, offset: int) -> list[Practitioner]:
        return await all_of(self.practitioners, skip=offset, limit=limit)

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
        await self.practitioners.get(practitioner_id)
        location = await self.location(location_id)
        services = {}
        for i, sid in enumerate(spec.service_type_ids):
            found = self.view.service_types.get(sid) or await self.service_types.find(sid)
            if found is None:
                raise NotFound(f"ServiceType {sid} not found", field=f"service_type_ids.{i}")
            services[sid] = found
        check_template(spec, location, services)
        now, tid = utcnow(), template_id(practitioner_id, location_id)

        def replace(t: Template) -> None:
            if version is not None and t.version != version:
                raise Conflict(
                    f"the template is at version {t.version}, not {version}", field="version", current_version=t.version
                )
            t.spec, t.updated_at, t.updated_by = spec, now, by

        created = False
        if await self.templates.find(tid) is None and version in (None, 0):
            try:
                template = await self.templates.add(
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
                template = await self.templates.mutate(tid, replace)
        else:
            template = await self.templates.mutate(tid, replace)
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
        found = await self.templates.find(template_id(practitioner_id, location_id))
        if found is None:
            raise NotFound(
                f"practitioner {practitioner_id} has no template at location {location_id}", field="location_id"
            )
        return found

    async def templates_of(self, practitioner_id: str) -> list[Template]:
        await self.practitioners.get(practitioner_id)
        return await all_of(self.templates, {"practitioner_id": practitioner_id})

    # -- availability ------------------------------------------------------------------------------
    async def coverage_of(self, patient_id: str) -> PatientCoverage | None:
        return await self.coverage.find(patient_id)

    async def search(self, q: Query, coverage: PatientCoverage | None) -> tuple[list[Slot], str | None]:
        """``coverage``: with ``q.patient_id``, the patient's (``coverage_of``)."""
        await self.view.ready()
        return search(self.view.calendar(), q, utcnow(), coverage, self.view.derived)

    # -- coverage, from insurance's events ---------------------------------------------------------
    async def on_coverage_registered(self, event: CoverageRegistered, env: Envelope) -> None:
        known = KnownCoverage(
            coverage_id=event.coverage_id,
            payer=event.payer,
            period_start=event.period_start,
            period_end=event.period_end,
        )
        await self._coverage(event.patient_id, lambda c: c.registered(known))

    async def on_coverage_changed(self, event: CoverageChanged, env: Envelope) -> None:
        snapshot = KnownCoverage(
            coverage_id=event.coverage_id,
            period_start=event.period_start,
            period_end=event.period_end,
            status=event.status,
            service_codes=list(event.service_codes),
            coverage_version=event.coverage_version,
        )
        await self._coverage(event.patient_id, lambda c: c.changed(snapshot))

    async def _coverage(self, patient_id: str, change: Callable[[PatientCoverage], bool]) -> None:
        for _ in range(5):
            if await self.coverage.find(patient_id) is not None:
                await self.coverage.mutate(patient_id, change)
                return
            first = PatientCoverage(id=patient_id)
            change(first)
            if await self.coverage.add_once(first):
                return
        raise Conflict(f"coverage of patient {patient_id} keeps changing")  # the consumer retries
