"""Times in the recipient's zone and language. Own tables, not the process-wide C locale."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

_NAMES = {
    "en": (
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
    ),
    "es": (
        ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
        [
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ],
    ),
}
LANGUAGES = frozenset(_NAMES)


def when(at: datetime, time_zone: str, language: str) -> str:
    """E.g. "Wednesday 15 July 2026 at 09:30 EDT", "miércoles 15 de julio de 2026, 09:30 (EDT)"."""
    local = at.astimezone(ZoneInfo(time_zone))
    days, months = _NAMES[language]
    day, month, zone = days[local.weekday()], months[local.month - 1], local.tzname() or time_zone
    if language == "es":
        return f"{day} {local.day} de {month} de {local.year}, {local:%H:%M} ({zone})"
    return f"{day} {local.day:02d} {month} {local.year} at {local:%H:%M} {zone}"


def day(d: date, language: str) -> str:
    """A calendar date (no time, so no zone): "15 January 2030", "15 de enero de 2030"."""
    month = _NAMES[language][1][d.month - 1]
    return f"{d.day} de {month} de {d.year}" if language == "es" else f"{d.day} {month} {d.year}"


def _show(value: str | date, time_zone: str, language: str) -> str:
    if isinstance(value, datetime):
        return when(value, time_zone, language)
    if isinstance(value, date):
        return day(value, language)
    return value


def variables(facts: dict[str, str | date], time_zone: str, language: str) -> dict[str, str]:
    """Template variables from facts: each datetime shown in the recipient's zone and language, each date
    in their language."""
    return {k: _show(v, time_zone, language) for k, v in facts.items()}
