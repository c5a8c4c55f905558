"""The templates: the kinds there are with their versions, previews, and the release check of the files."""

from dataclasses import dataclass

from jinja2 import TemplateError

from caremesh_kit.errors import Invalid, NotFound
from caremesh_notifications.adapters.templates import TemplateFolder
from caremesh_notifications.domain import Channel, Content
from caremesh_notifications.domain.templates import Catalog, UnknownTemplate


@dataclass
class Templates:
    catalog: Catalog

    def preview(
        self, kind: str, channel: Channel, language: str | None, version: int | None, variables: dict[str, str] | None
    ) -> Content:
        """Render a template with its sample data, or with the variables given (checked as at send time)."""
        try:
            spec = self.catalog.kind(kind)
            if variables is None:
                return self.catalog.render_sample(kind, channel, language, version)
            if unknown := sorted(set(variables) - set(spec.variables)):
                raise Invalid(f"unknown variable(s) for {kind}: {', '.join(unknown)}", field="variables")
            return self.catalog.render(kind, channel, variables, language, version)
        except UnknownTemplate as exc:
            raise NotFound(str(exc)) from exc
        except TemplateError as exc:
            raise Invalid(f"the template does not render: {exc.message}", field="variables") from exc


@dataclass
class TemplateRelease:
    """Releasing template versions (``caremesh-templates``): every file checked as at service start,
    and new versions recorded in the lock."""

    folder: TemplateFolder

    def check(self) -> tuple[int, list[str]]:
        """How many templates there are, and every problem found (none: fit to deploy)."""
        catalog = self.folder.load()
        return len(catalog.sources), catalog.check()

    def lock(self) -> tuple[int, list[str]]:
        """Add the new versions to the lock, then check everything again."""
        self.folder.write_lock(self.folder.load())
        return self.check()

    def preview(self, kind: str, channel: Channel, language: str | None, version: int | None) -> Content:
        return self.folder.load().render_sample(kind, channel, language, version)
