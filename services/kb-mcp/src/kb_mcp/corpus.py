"""Runbook folders as teams keep them → `Runbook` records split into sections.

A folder is read recursively; every Markdown file is a runbook unless it is a repository file (README,
CHANGELOG...), hidden, or a section index (`_index.md`) with no text of its own (one that is a whole page, as
Hugo sites have them, is a runbook). Front matter is optional, YAML or TOML, and its keys are mapped from what
Hugo, Jekyll, Obsidian and the lab's own runbooks use (`KEYS`). A runbook's id is its front matter `id` when it
has one (the lab's runbooks), else its path (`kubernetes/KubePodCrashLooping.md` →
`kubernetes-kube-pod-crash-looping`; a section page's is its folder's); its title is the front matter's, else
the first heading, else the file name. A file that cannot be read is skipped with the reason; the rest are still
ingested.

A section is the unit of retrieval: it is embedded with its runbook's title and heading, indexed by BM25 and
addressable as `runbook://<id>/<section>`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from kb_mcp.markdown import HEADING_JOINER, FrontMatterError, split_front_matter, split_sections, to_text

logger = logging.getLogger(__name__)

RUNBOOK_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,126}[a-z0-9])?$")
MAX_FILE_BYTES = 1_000_000
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
REPOSITORY_FILES = frozenset(
    {"readme", "changelog", "contributing", "license", "licence", "code_of_conduct", "security", "authors", "notice"}
)
SECTION_INDEXES = frozenset({"_index"})
# Documents in other markups that teams keep runbooks in: not read, but listed, so a folder of them says why
OTHER_MARKUPS = {
    ".adoc": "AsciiDoc",
    ".asciidoc": "AsciiDoc",
    ".rst": "reStructuredText",
    ".org": "Org",
    ".txt": "plain text",
    ".html": "HTML",
    ".htm": "HTML",
    ".docx": "Word",
}
NOT_MARKDOWN = "not Markdown: kb-mcp reads .md and .markdown (pandoc -t gfm converts it)"
SKIPPED_DIRECTORIES = frozenset({"node_modules"})

KEYS: Mapping[str, tuple[str, ...]] = {
    "id": ("id",),
    "title": ("title", "linktitle", "name"),
    "team": ("team", "owner", "owners", "owning_team", "squad", "maintainer", "maintainers"),
    "services": ("services", "service", "components", "component", "systems", "applies_to"),
    "tags": ("tags", "tag", "keywords", "categories", "labels"),
    "aliases": ("aliases", "alias", "alert", "alerts", "alertname"),
    "description": ("description", "summary", "excerpt"),
    "last_reviewed": ("last_reviewed", "reviewed", "lastmod", "last_modified", "updated", "date"),
}
"""Front matter keys (lower-cased) that fill each field, first found wins. Unknown keys are ignored."""

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


class CorpusError(ValueError):
    """Nothing usable could be read (or, with `strict`, something could not); the message says what and where."""


@dataclass(frozen=True)
class Section:
    """One section of a runbook: the retrieval chunk."""

    runbook_id: str
    heading: str
    slug: str
    text: str
    ordinal: int

    @property
    def chunk_id(self) -> str:
        return f"{self.runbook_id}#{self.slug}"

    @property
    def uri(self) -> str:
        return section_uri(self.runbook_id, self.slug)


@dataclass(frozen=True)
class Runbook:
    """A parsed runbook: what it is about, its Markdown (HTML reduced to text) and its sections in order."""

    id: str
    title: str
    markdown: str
    sections: tuple[Section, ...] = ()
    source: str = ""
    team: str = ""
    services: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    description: str = ""
    last_reviewed: str = ""

    @property
    def uri(self) -> str:
        return runbook_uri(self.id)

    def section(self, slug: str) -> Section | None:
        return next((s for s in self.sections if s.slug == slug), None)

    def section_for(self, section: Section, *headings: str) -> Section | None:
        """The section named one of `headings` (its last heading part, case-insensitively) that goes with `section`.

        A top-level one ("Mitigation") goes with every section. On a page of several problems, each with its own
        "Solution" under it, only one under the same parent headings as `section` does: the deepest such, the
        nearest after `section` (a fix follows its symptoms), else before it. None when only other problems have
        one: another problem's fix is not this one's.
        """
        wanted = {h.lower() for h in headings}
        path = section.heading.split(HEADING_JOINER)
        best: tuple[int, bool, int] | None = None
        found: Section | None = None
        for candidate in self.sections:
            parts = candidate.heading.split(HEADING_JOINER)
            parent = parts[:-1]
            if parts[-1].lower() not in wanted or path[: len(parent)] != parent:
                continue
            if candidate.slug == section.slug:
                return candidate
            distance = candidate.ordinal - section.ordinal
            rank = (len(parent), distance > 0, -abs(distance))
            if best is None or rank > best:
                best, found = rank, candidate
        return found


@dataclass(frozen=True)
class Skipped:
    """A file that was not ingested, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Loaded:
    """What reading the folders gave: the runbooks, the files that could not be read, the files not meant to be."""

    runbooks: tuple[Runbook, ...]
    skipped: tuple[Skipped, ...] = ()
    ignored: tuple[Skipped, ...] = ()
    folders: tuple[str, ...] = field(default=())


def runbook_uri(runbook_id: str) -> str:
    return f"runbook://{runbook_id}"


def section_uri(runbook_id: str, slug: str) -> str:
    return f"runbook://{runbook_id}/{slug}"


def slugify(heading: str) -> str:
    """'Symptoms' -> 'symptoms'; 'Roll back (Helm)' -> 'roll-back-helm'."""
    return _NOT_SLUG.sub("-", heading.lower()).strip("-")[:60].strip("-") or "section"


def kebab(name: str) -> str:
    """'KubePodCrashLooping' -> 'kube-pod-crash-looping'; 'CPUThrottlingHigh' -> 'cpu-throttling-high'."""
    return _NOT_SLUG.sub("-", _CAMEL_BOUNDARY.sub("-", name).lower()).strip("-")


def path_id(relative: PurePosixPath) -> str:
    """The id of a runbook without one in its front matter: its path relative to the folder, in kebab-case (a
    section page, `debug-cluster/_index.md`, is its folder's: Hugo serves it at the folder's path)."""
    stem = "" if _is_section_index(relative.name) else relative.stem
    slug = "-".join(part for part in (kebab(p) for p in (*relative.parent.parts, stem)) if part) or "index"
    if len(slug) > 128:  # keep it unique and within RUNBOOK_ID's length
        slug = f"{slug[:119].rstrip('-')}-{hashlib.sha256(slug.encode()).hexdigest()[:8]}"
    return slug


def content_hash(*parts: str) -> str:
    """SHA-256 over the parts (separated, so ('ab', 'c') and ('a', 'bc') differ)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def parse_runbook(text: str, source: str = "<string>", *, default_id: str | None = None) -> Runbook:
    """Parse one runbook file's text; raise `CorpusError` (naming `source`) when it cannot be used.

    `default_id` is used when the front matter names no `id` (the caller passes the path's id).
    """
    try:
        meta, front, body = split_front_matter(text)
    except FrontMatterError as exc:
        raise CorpusError(f"{source}: {exc}") from None
    fields_ = _fields(meta)
    runbook_id = _one(fields_.get("id")) or default_id or path_id(PurePosixPath(source))
    if not RUNBOOK_ID.match(runbook_id):
        raise CorpusError(f"{source}: id '{runbook_id[:80]}' must be lowercase kebab-case (a-z, 0-9, '-'), ≤ 128 chars")
    clean = to_text(body)
    heading, raw_sections = split_sections(clean)
    if not raw_sections:
        raise CorpusError(f"{source}: no text besides front matter and headings")
    title = _one(fields_.get("title")) or heading or PurePosixPath(source).stem
    # A page's H1 is often its other name (Hugo: title "Kube Pod Crash Looping", H1 "KubePodCrashLooping").
    aliases = _distinct([*(_alias(a) for a in _many(fields_.get("aliases"))), heading or ""], exclude=title)
    sections = []
    used: set[str] = set()
    for ordinal, raw in enumerate(raw_sections):
        slug = base = slugify(raw.heading)
        suffix = 2
        while slug in used:
            slug, suffix = f"{base}-{suffix}", suffix + 1
        used.add(slug)
        sections.append(Section(runbook_id, raw.heading, slug, raw.text, ordinal))
    return Runbook(
        id=runbook_id,
        title=title,
        markdown=(front + clean).strip() + "\n",
        sections=tuple(sections),
        source=source,
        team=_one(fields_.get("team")),
        services=tuple(_many(fields_.get("services"))),
        tags=tuple(_many(fields_.get("tags"))),
        aliases=tuple(aliases),
        description=_one(fields_.get("description")),
        last_reviewed=_date(fields_.get("last_reviewed")),
    )


def load_folders(folders: Sequence[Path], *, strict: bool = False) -> Loaded:
    """Every runbook under `folders` (recursively), sorted by id; the files that could not be read, skipped.

    Raises `CorpusError` when a folder does not exist, when no runbook could be read, or (`strict`) when any
    file could not be. Two files with one id: the first (by folder, then path) wins, the other is skipped.
    """
    runbooks: dict[str, Runbook] = {}
    skipped: list[Skipped] = []
    ignored: list[Skipped] = []
    for folder in folders:
        if not folder.is_dir():
            raise CorpusError(f"runbooks folder {folder} does not exist (or is not a folder)")
    for folder in folders:
        for path, why_not in _markdown_files(folder):
            shown = _shown(path, folder, folders)
            if why_not:
                ignored.append(Skipped(shown, why_not))
                continue
            relative = PurePosixPath(path.relative_to(folder).as_posix())
            try:
                runbook = parse_runbook(_read(path), relative.as_posix(), default_id=path_id(relative))
            except CorpusError as exc:
                if _is_section_index(path.name):  # a listing page with nothing of its own to read
                    ignored.append(Skipped(shown, "a section index, not a runbook"))
                else:
                    skipped.append(Skipped(shown, str(exc).removeprefix(f"{relative.as_posix()}: ")))
                continue
            if runbook.id in runbooks:
                skipped.append(Skipped(shown, f"id '{runbook.id}' is already used by {runbooks[runbook.id].source}"))
                continue
            runbooks[runbook.id] = runbook
    where = ", ".join(str(f) for f in folders)
    if strict and skipped:
        raise CorpusError(
            f"{len(skipped)} file(s) in {where} could not be read (--strict): " + "; ".join(map(str, skipped))
        )
    if not runbooks:
        detail = f"; skipped: {'; '.join(map(str, skipped[:10]))}" if skipped else ""
        other = [str(i) for i in ignored if PurePosixPath(i.path).suffix.lower() in OTHER_MARKUPS]
        if other:
            more = f" and {len(other) - 5} more" if len(other) > 5 else ""
            detail += f"; not read: {'; '.join(other[:5])}{more}"
        raise CorpusError(f"no runbooks (Markdown files with text) in {where}{detail}")
    return Loaded(
        tuple(sorted(runbooks.values(), key=lambda r: r.id)),
        tuple(skipped),
        tuple(ignored),
        tuple(str(f) for f in folders),
    )


def _markdown_files(folder: Path) -> Iterator[tuple[Path, str | None]]:
    """(Markdown file, why it is not read or None), walking the folder in a stable order."""
    for root, directories, files in os.walk(folder):
        directories[:] = sorted(d for d in directories if not d.startswith(".") and d not in SKIPPED_DIRECTORIES)
        for name in sorted(files):
            path = Path(root) / name
            suffix = path.suffix.lower()
            if name.startswith(".") or (suffix not in MARKDOWN_SUFFIXES and suffix not in OTHER_MARKUPS):
                continue
            if suffix in OTHER_MARKUPS:
                yield path, f"{OTHER_MARKUPS[suffix]}, {NOT_MARKDOWN}"
            elif path.stem.lower() in REPOSITORY_FILES:
                yield path, "a repository file, not a runbook"
            elif name.startswith("_") and not _is_section_index(name):  # _sidebar.md, _navbar.md, partials
                yield path, "a section index, not a runbook"
            else:
                yield path, None  # `_index.md` too: read, and ignored only if it has no text of its own


def _is_section_index(name: str) -> bool:
    return PurePosixPath(name).stem.lower() in SECTION_INDEXES


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CorpusError(f"larger than {MAX_FILE_BYTES // 1_000_000} MB: not a runbook")
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot be read: {exc.strerror or exc}") from None
    if b"\x00" in data:
        raise CorpusError("a binary file, not Markdown")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CorpusError("not UTF-8 text") from None


def _shown(path: Path, folder: Path, folders: Sequence[Path]) -> str:
    relative = path.relative_to(folder).as_posix()
    return relative if len(folders) == 1 else f"{folder.name}/{relative}"


def _fields(meta: Mapping[str, Any]) -> dict[str, Any]:
    lowered = {str(key).strip().lower(): value for key, value in meta.items()}
    out: dict[str, Any] = {}
    for name, keys in KEYS.items():
        for key in keys:
            if lowered.get(key) not in (None, "", [], {}):
                out[name] = lowered[key]
                break
    return out


def _one(value: Any) -> str:
    """A single text value: a string or number as it is, the first of a list."""
    if isinstance(value, list | tuple):
        return next((text for text in (_one(v) for v in value) if text), "")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return " ".join(str(value).split())
    return ""


def _many(value: Any) -> list[str]:
    """A list of labels: a YAML/TOML list, or a comma-separated string."""
    items: Iterable[Any] = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return _distinct(_one(item) for item in items)


def _alias(value: str) -> str:
    """A Hugo alias is a URL path (/runbooks/old-name/): its last segment names the page."""
    return value.strip("/").rsplit("/", 1)[-1] if "/" in value else value


def _distinct(values: Iterable[str], *, exclude: str = "") -> list[str]:
    seen = {exclude.lower()} if exclude else set()
    out = []
    for value in values:
        if value and value.lower() not in seen:
            seen.add(value.lower())
            out.append(value)
    return out


def _date(value: Any) -> str:
    """An ISO date (YYYY-MM-DD) from a date, a datetime or an ISO string; "" when it is none of those."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = _one(value)
    try:
        return dt.date.fromisoformat(text[:10]).isoformat() if text else ""
    except ValueError:
        logger.debug("ignoring a date that is not ISO: %r", text)
        return ""
