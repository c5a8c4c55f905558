"""Choosing and rendering the versioned Jinja2 templates, and checking them all.

Each file holds one channel's template in one language at one version, as Jinja blocks (the
channel's ``PARTS``). A released version never changes: ``versions.lock`` holds each file's
hash, and a change must come as a new file ``v<N+1>``. Messages record the version they used.
"""

import hashlib
from dataclasses import dataclass

from jinja2 import Environment, StrictUndefined, Template, TemplateError, meta

from caremesh_notifications.domain.messages import Content
from caremesh_notifications.domain.preferences import Channel
from caremesh_notifications.domain.templates import localize
from caremesh_notifications.domain.templates.kinds import DEFAULT_LANGUAGE, KINDS, PARTS, Kind

LOCK = "versions.lock"  # the released versions' hashes, next to the template files


class TemplateCheckError(Exception):
    """The templates are not fit to deploy; ``errors`` says why, one line each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("template check failed:\n  " + "\n  ".join(errors))
        self.errors = errors


class UnknownTemplate(LookupError):
    pass


@dataclass(frozen=True)
class Source:
    kind: str
    channel: Channel
    language: str
    version: int
    path: str  # relative to the files folder, as in the lock
    text: str

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.text.encode()).hexdigest()


class Catalog:
    def __init__(
        self,
        sources: list[Source],
        lock: dict[str, str],
        kinds: dict[str, Kind] = KINDS,
        stray: list[str] | None = None,
    ) -> None:
        self.kinds, self.lock = kinds, lock
        self.sources = {(s.kind, s.channel, s.language, s.version): s for s in sources}
        self.stray = stray or []  # files that name no kind or channel: reported by check()
        # Autoescaping only where the output is HTML; StrictUndefined everywhere: a missing variable is an error.
        self._env = {
            html: Environment(undefined=StrictUndefined, autoescape=html, keep_trailing_newline=True)
            for html in (False, True)
        }
        self._compiled: dict[tuple[str, bool], Template] = {}

    # -- choosing ---------------------------------------------------------------------------
    def kind(self, name: str) -> Kind:
        if name not in self.kinds:
            raise UnknownTemplate(f"no message kind {name!r}")
        return self.kinds[name]

    def languages(self, kind: str, channel: Channel) -> list[str]:
        return sorted({s.language for s in self.sources.values() if (s.kind, s.channel) == (kind, channel)})

    def versions(self, kind: str, channel: Channel, language: str) -> list[int]:
        return sorted(v for (k, c, lang, v) in self.sources if (k, c, lang) == (kind, channel, language))

    def language_for(self, kind: str, channel: Channel, wanted: str | None) -> str:
        """The recipient's language if we have it, else its primary subtag ("es-MX" -> "es"), else English."""
        have = self.languages(kind, channel)
        for candidate in (wanted, (wanted or "").split("-")[0].lower()):
            if candidate in have:
                return candidate
        return DEFAULT_LANGUAGE

    def source(self, kind: str, channel: Channel, language: str | None = None, version: int | None = None) -> Source:
        lang = self.language_for(kind, channel, language)
        versions = self.versions(kind, channel, lang)
        v = version if version is not None else (versions[-1] if versions else None)
        if v not in versions:
            raise UnknownTemplate(
                f"no template {kind} for {channel.value} in {lang}"
                + (f" at version {version}" if version is not None else "")
            )
        return self.sources[(kind, channel, lang, v)]

    # -- rendering --------------------------------------------------------------------------
    def render(
        self,
        kind: str,
        channel: Channel,
        variables: dict[str, str],
        language: str | None = None,
        version: int | None = None,
    ) -> Content:
        """Render with only the variables this channel may show; a missing one raises (StrictUndefined)."""
        spec, src = self.kind(kind), self.source(kind, channel, language, version)
        return self._render(spec, src, variables)

    def render_sample(
        self, kind: str, channel: Channel, language: str | None = None, version: int | None = None
    ) -> Content:
        spec, src = self.kind(kind), self.source(kind, channel, language, version)
        return self._render(spec, src, localize.variables(spec.sample, spec.sample_zone, src.language))

    def _render(self, spec: Kind, src: Source, variables: dict[str, str]) -> Content:
        allowed = {k: v for k, v in variables.items() if k in spec.allowed(src.channel)}
        parts = {name: self._block(src, name, allowed) for name in PARTS[src.channel]}
        return Content(
            template=src.kind,
            version=src.version,
            language=src.language,
            subject=(parts.get("subject") or parts.get("title") or "").strip() or None,
            text=parts["text"].strip() + ("\n" if src.channel is Channel.EMAIL else ""),
            html=parts.get("html", "").strip() or None,
        )

    def _block(self, src: Source, block: str, variables: dict[str, str]) -> str:
        template = self._template(src, html=block == "html")
        return "".join(template.blocks[block](template.new_context(variables)))

    def _template(self, src: Source, html: bool) -> Template:
        key = (src.path, html)
        if key not in self._compiled:
            self._compiled[key] = self._env[html].from_string(src.text)
        return self._compiled[key]

    # -- checking ---------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Everything that would fail at send time, found now: one line per problem."""
        errors = [
            f"{rel}: not a template of a known kind and channel (<kind>/<channel>.<lang>.v<N>.j2)" for rel in self.stray
        ]
        for name in self.kinds:
            for channel in Channel:
                if not self.versions(name, channel, DEFAULT_LANGUAGE):
                    errors.append(f"missing template: {name} for {channel.value} in {DEFAULT_LANGUAGE}")
        for src in self.sources.values():
            errors += self._check_source(src)
        errors += self._check_lock()
        return errors

    def verify(self) -> "Catalog":
        """Raise TemplateCheckError unless every template is fit to send: run on service start."""
        if errors := self.check():
            raise TemplateCheckError(errors)
        return self

    def _check_source(self, src: Source) -> list[str]:
        spec = self.kinds[src.kind]
        if src.language not in localize.LANGUAGES:
            return [f"{src.path}: no date and time names for language {src.language!r}"]
        try:
            parsed = self._env[False].parse(src.text)
        except TemplateError as exc:
            return [f"{src.path}:{getattr(exc, 'lineno', '?')}: {exc}"]
        errors = []
        blocks = set(self._template(src, html=False).blocks)
        if missing := sorted(set(PARTS[src.channel]) - blocks):
            errors.append(f"{src.path}: missing block(s) {', '.join(missing)}")
        if extra := sorted(blocks - set(PARTS[src.channel])):
            errors.append(f"{src.path}: unexpected block(s) {', '.join(extra)}")
        for var in sorted(meta.find_undeclared_variables(parsed)):
            if var not in spec.variables:
                errors.append(f"{src.path}: unknown variable {var!r} (not declared for {src.kind})")
            elif var not in spec.allowed(src.channel):
                errors.append(
                    f"{src.path}: {var!r} is {spec.variables[var].name} and may not appear in "
                    f"{src.channel.value} (minimum necessary)"
                )
        if errors:
            return errors
        try:
            content = self._render(spec, src, localize.variables(spec.sample, spec.sample_zone, src.language))
        except TemplateError as exc:
            return [f"{src.path}: does not render with the sample data: {exc}"]
        if not content.text.strip() or (src.channel is not Channel.SMS and not content.subject):
            errors.append(f"{src.path}: renders an empty part")
        if src.channel is Channel.SMS and len(content.text) > spec.sms_max_chars:
            errors.append(
                f"{src.path}: {len(content.text)} characters with the sample data (at most {spec.sms_max_chars})"
            )
        return errors

    def _check_lock(self) -> list[str]:
        errors = []
        on_disk = {s.path: s.digest for s in self.sources.values()}
        for path, digest in sorted(on_disk.items()):
            if path not in self.lock:
                errors.append(f"{path}: not in {LOCK}; a new version is recorded with `caremesh-templates lock`")
            elif self.lock[path] != digest:
                errors.append(f"{path}: changed after release; add the change as a new version instead")
        errors += [
            f"{path}: released, so it may not be removed (messages name its version)"
            for path in sorted(set(self.lock) - set(on_disk))
        ]
        return errors

    def locked(self) -> dict[str, str]:
        """The lock with every new file added; released entries are never rewritten."""
        return dict(
            sorted((self.lock | {s.path: s.digest for s in self.sources.values() if s.path not in self.lock}).items())
        )
