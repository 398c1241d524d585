"""Runbooks on disk: Markdown with YAML front matter, split into one section per `## ` heading.

A section is the unit of retrieval: it is embedded with its runbook's title and heading, indexed by BM25 and
addressable as `runbook://<id>/<section>`. Headings inside fenced code blocks are not headings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

RUNBOOK_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")
_SLUG_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_FENCE = re.compile(r"^\s*(```|~~~)")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
REQUIRED_KEYS = ("id", "title", "team", "services", "tags", "last_reviewed")
PREAMBLE_SECTION = "Overview"
SKIPPED_FILES = frozenset({"readme.md"})


class CorpusError(ValueError):
    """A runbook file is malformed; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Section:
    """One `## ` section of a runbook: the retrieval chunk."""

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
    """A parsed runbook: its front matter, its full Markdown and its sections in order."""

    id: str
    title: str
    team: str
    services: tuple[str, ...]
    tags: tuple[str, ...]
    last_reviewed: str
    markdown: str
    sections: tuple[Section, ...] = field(default=())

    @property
    def uri(self) -> str:
        return runbook_uri(self.id)

    def section(self, slug: str) -> Section | None:
        return next((s for s in self.sections if s.slug == slug), None)


def runbook_uri(runbook_id: str) -> str:
    return f"runbook://{runbook_id}"


def section_uri(runbook_id: str, slug: str) -> str:
    return f"runbook://{runbook_id}/{slug}"


def slugify(heading: str) -> str:
    """'Symptoms' -> 'symptoms'; 'Roll back (Helm)' -> 'roll-back-helm'."""
    return _NOT_SLUG.sub("-", heading.lower()).strip("-")[:40].strip("-") or "section"


def content_hash(*parts: str) -> str:
    """SHA-256 over the parts (separated, so ('ab', 'c') and ('a', 'bc') differ)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def embedding_text(title: str, heading: str, text: str) -> str:
    """What the model embeds for a section: the runbook title and heading give a short section its context."""
    return f"{title}: {heading}\n{text}"


def parse_runbook(markdown: str, source: str = "<string>") -> Runbook:
    """Parse one runbook; raise `CorpusError` naming `source` when the front matter or body is malformed."""
    match = _FRONT_MATTER.match(markdown)
    if match is None:
        raise CorpusError(f"{source}: no YAML front matter (a '---' block at the top)")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise CorpusError(f"{source}: front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise CorpusError(f"{source}: front matter must be a mapping of {', '.join(REQUIRED_KEYS)}")
    missing = [key for key in REQUIRED_KEYS if key not in meta]
    if missing:
        raise CorpusError(f"{source}: front matter lacks {', '.join(missing)}")
    runbook_id = _text(meta["id"], "id", source)
    if not RUNBOOK_ID.match(runbook_id):
        raise CorpusError(f"{source}: id '{runbook_id}' must be lowercase kebab-case (a-z, 0-9, '-'), ≤ 64 chars")
    team = _text(meta["team"], "team", source)
    if not _SLUG_LABEL.match(team):
        raise CorpusError(f"{source}: team '{team}' must be a lowercase label such as 'platform'")
    body = markdown[match.end() :]
    sections = _split_sections(runbook_id, body)
    if not sections:
        raise CorpusError(f"{source}: no '## ' sections (one section is one retrieval chunk)")
    return Runbook(
        id=runbook_id,
        title=_text(meta["title"], "title", source),
        team=team,
        services=_labels(meta["services"], "services", source),
        tags=_labels(meta["tags"], "tags", source),
        last_reviewed=_date(meta["last_reviewed"], source),
        markdown=markdown.strip() + "\n",
        sections=tuple(sections),
    )


def load_runbooks(directory: Path) -> list[Runbook]:
    """Every runbook in `directory` (not recursive; README.md skipped), sorted by id.

    Raises `CorpusError` listing every malformed file, a duplicated id, or a directory without runbooks.
    """
    if not directory.is_dir():
        raise CorpusError(f"runbooks directory {directory} does not exist")
    runbooks: list[Runbook] = []
    problems: list[str] = []
    for path in sorted(directory.glob("*.md")):
        if path.name.lower() in SKIPPED_FILES or path.name.startswith(("_", ".")):
            continue
        try:
            runbooks.append(parse_runbook(path.read_text(encoding="utf-8"), source=path.name))
        except CorpusError as exc:
            problems.append(str(exc))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: cannot read: {exc}")
    seen: dict[str, int] = {}
    for runbook in runbooks:
        seen[runbook.id] = seen.get(runbook.id, 0) + 1
    problems += [f"id '{rid}' is used by {n} files" for rid, n in sorted(seen.items()) if n > 1]
    if problems:
        raise CorpusError(f"{len(problems)} problem(s) in {directory}: " + "; ".join(problems))
    if not runbooks:
        raise CorpusError(f"no runbooks (*.md with front matter) in {directory}")
    return sorted(runbooks, key=lambda r: r.id)


def _split_sections(runbook_id: str, body: str) -> list[Section]:
    chunks: list[tuple[str, list[str]]] = [(PREAMBLE_SECTION, [])]
    in_fence = title_seen = False
    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            chunks.append((line[3:].strip(), []))
        elif not in_fence and line.startswith("# ") and len(chunks) == 1 and not title_seen:
            title_seen = True  # the '# Title' line: the title comes from the front matter
        else:
            chunks[-1][1].append(line)
    sections: list[Section] = []
    used: set[str] = set()
    for heading, lines in chunks:
        text = "\n".join(lines).strip()
        if not text:
            continue
        slug = base = slugify(heading)
        suffix = 2
        while slug in used:
            slug, suffix = f"{base}-{suffix}", suffix + 1
        used.add(slug)
        sections.append(Section(runbook_id, heading, slug, text, len(sections)))
    return sections


def _text(value: Any, key: str, source: str) -> str:
    if not isinstance(value, str | int | float) or not str(value).strip():
        raise CorpusError(f"{source}: {key} must be a non-empty string")
    return str(value).strip()


def _labels(value: Any, key: str, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise CorpusError(f"{source}: {key} must be a YAML list of strings, e.g. [a, b]")
    return tuple(str(v).strip() for v in value if str(v).strip())


def _date(value: Any, source: str) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise CorpusError(f"{source}: last_reviewed '{value}' is not an ISO date (YYYY-MM-DD)") from None
