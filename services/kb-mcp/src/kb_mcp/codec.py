"""The one place a `Runbook` (and its sections) becomes flat metadata and back.

Two stores hold runbooks: Chroma (metadata values are strings, numbers, booleans or lists of strings; empty
lists and nulls are refused) and the local copy of the corpus (JSON). Both use these functions, so a field added
to `Runbook` is added here once and survives both round trips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kb_mcp.corpus import Runbook, Section

_TEXT_FIELDS = ("title", "source", "team", "description", "last_reviewed")
_LIST_FIELDS = ("services", "tags", "aliases")


def runbook_metadata(runbook: Runbook) -> dict[str, Any]:
    """A runbook's fields other than its Markdown and sections, as Chroma metadata (empty values left out)."""
    out: dict[str, Any] = {"sections": len(runbook.sections)}
    for name in _TEXT_FIELDS:
        value = getattr(runbook, name)
        if value:
            out[name] = value
    for name in _LIST_FIELDS:
        values = getattr(runbook, name)
        if values:
            out[name] = list(values)
    return out


def section_metadata(section: Section) -> dict[str, Any]:
    """What a section record carries besides its text (the runbook's fields live with the runbook)."""
    return {
        "runbook_id": section.runbook_id,
        "section": section.heading,
        "slug": section.slug,
        "ordinal": section.ordinal,
    }


def section_from(metadata: Mapping[str, Any], text: str) -> Section:
    return Section(
        runbook_id=_text(metadata, "runbook_id"),
        heading=_text(metadata, "section"),
        slug=_text(metadata, "slug"),
        text=text,
        ordinal=_int(metadata, "ordinal"),
    )


def runbook_from(runbook_id: str, metadata: Mapping[str, Any], markdown: str, sections: Sequence[Section]) -> Runbook:
    """The runbook `runbook_metadata` described, with its Markdown and its sections (put in order here)."""
    return Runbook(
        id=runbook_id,
        title=_text(metadata, "title"),
        markdown=markdown,
        sections=tuple(sorted(sections, key=lambda s: s.ordinal)),
        source=_text(metadata, "source"),
        team=_text(metadata, "team"),
        services=_strings(metadata, "services"),
        tags=_strings(metadata, "tags"),
        aliases=_strings(metadata, "aliases"),
        description=_text(metadata, "description"),
        last_reviewed=_text(metadata, "last_reviewed"),
    )


def runbook_to_json(runbook: Runbook) -> dict[str, Any]:
    """A runbook as one JSON object (the local copy of the corpus)."""
    return {
        "id": runbook.id,
        "metadata": runbook_metadata(runbook),
        "markdown": runbook.markdown,
        "sections": [{**section_metadata(s), "text": s.text} for s in runbook.sections],
    }


def runbook_from_json(data: Mapping[str, Any]) -> Runbook:
    sections = [section_from(item, str(item["text"])) for item in data["sections"]]
    return runbook_from(str(data["id"]), data["metadata"], str(data["markdown"]), sections)


def _text(metadata: Mapping[str, Any], key: str) -> str:
    value = metadata.get(key)
    return "" if value is None else str(value)


def _int(metadata: Mapping[str, Any], key: str) -> int:
    value = metadata.get(key)
    return int(value) if isinstance(value, int | float | str) else 0


def _strings(metadata: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = metadata.get(key)
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()
