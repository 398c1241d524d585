"""What the tools return (structured output, no nulls) and what ingestion reports."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from mcp_common.compact import fields
from mcp_common.models import CompactModel


class SearchHit(CompactModel):
    """One runbook section that matches the query."""

    runbook_id: str
    title: str = Field(description="The runbook's title.")
    section: str = Field(description="The section heading, e.g. Symptoms, Diagnosis, Mitigation, Escalation.")
    team: str | None = Field(default=None, description="The team that owns the runbook, when the runbook says.")
    score: float = Field(
        ge=0,
        le=1,
        description="Relevance 0..1, calibrated: about the share of hits with this score that came from a runbook "
        "answering the query in the eval (0.9: about 9 in 10). Below 0.2 nothing relevant was found. Hits are "
        "ordered by the retrieval, and a hit never scores above the ones before it.",
    )
    uri: str = Field(description="runbook://<id>/<section>, readable as a resource; runbook://<id>: the whole runbook.")
    text: str = Field(description="The section's Markdown.")


class SearchResult(CompactModel):
    query: str
    team_filter: str | None = None
    service: str | None = None
    hits: list[SearchHit]
    hint: str | None = None

    def compact_text(self) -> str:
        """Each section as its runbook wrote it (Markdown reads best unescaped), under one line saying which."""
        head = fields(self.model_dump(include={"query", "team_filter", "service", "hint"}))
        blocks = [f"{head} · {len(self.hits)} sections"]
        for rank, hit in enumerate(self.hits, 1):
            team = f" · team {hit.team}" if hit.team else ""
            blocks.append(f"[{rank}] {hit.title} — {hit.section} · score {hit.score:.2f}{team} · {hit.uri}\n{hit.text}")
        return "\n\n".join(blocks)


class Citation(CompactModel):
    """A runbook section an answer rests on."""

    runbook_id: str
    section: str
    title: str
    uri: str


class Answer(CompactModel):
    """A grounded answer: only what the cited runbook sections say."""

    question: str
    answer: str
    method: Literal["sampling", "extractive", "not_found"] = Field(
        description="sampling: written by the client's model from the cited sections; extractive: passages quoted "
        "from the sections, no model used; not_found: no runbook section is relevant."
    )
    model: str | None = Field(default=None, description="The client's model, when sampling was used.")
    citations: list[Citation]
    note: str | None = None

    def compact_text(self) -> str:
        """The answer, then where it comes from."""
        how = self.method + (f" by {self.model}" if self.model else "")
        sources = "\n".join(f"- {c.title} — {c.section}: {c.uri}" for c in self.citations)
        parts = [self.answer, f"({how}){f' {self.note}' if self.note else ''}"]
        if sources:
            parts.append(f"Sources:\n{sources}")
        return "\n\n".join(parts)


class ErrorMatch(CompactModel):
    """A runbook that addresses an error: the section that matched it and how to mitigate."""

    runbook_id: str
    title: str
    team: str | None = None
    score: float = Field(
        ge=0, le=1, description="Calibrated relevance 0..1 of the best-matching section (as in search_runbooks)."
    )
    matched_section: str
    matched_uri: str
    excerpt: str = Field(description="The lines of the matched section that share the most terms with the error.")
    mitigation: str | None = Field(default=None, description="The runbook's Mitigation section, in full.")
    mitigation_uri: str | None = None
    uri: str = Field(description="runbook://<id>: the whole runbook.")


class ErrorLookup(CompactModel):
    signature: str = Field(description="What was searched: the error with timestamps, ids and addresses removed.")
    matches: list[ErrorMatch]
    hint: str | None = None

    def compact_text(self) -> str:
        """Per runbook: which section matched (its closest lines), then its Mitigation in full."""
        blocks = [fields(self.model_dump(include={"signature", "hint"})) + f" · {len(self.matches)} runbooks"]
        for rank, match in enumerate(self.matches, 1):
            team = f" · team {match.team}" if match.team else ""
            lines = [
                f"[{rank}] {match.title} · score {match.score:.2f}{team} · {match.uri}",
                f"matched {match.matched_section} ({match.matched_uri}):\n{match.excerpt}",
            ]
            if match.mitigation:
                lines.append(f"Mitigation ({match.mitigation_uri or match.uri}):\n{match.mitigation}")
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


class IngestReport(BaseModel):
    """What one ingestion did. Section counts: added + updated + unchanged = sections. `embedded`: texts the model
    embedded now (the others came from the embedding cache or were unchanged). `skipped`: files that could not be
    read, with the reason; `ignored`: files deliberately not read (READMEs, section indexes)."""

    directory: str
    location: str
    collection: str
    model: str
    runbooks: int
    sections: int
    added: int
    updated: int
    unchanged: int
    removed: int
    runbooks_written: int
    runbooks_removed: int
    rebuilt: bool
    embedded: int = 0
    skipped: list[str] = Field(default_factory=list)
    ignored: list[str] = Field(default_factory=list)
    seconds: float
    embed_seconds: float

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.runbooks_written or self.runbooks_removed)

    def summary(self) -> str:
        return (
            f"{self.runbooks} runbooks, {self.sections} sections → '{self.collection}' in {self.location}: "
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {self.removed} removed"
            f"{' (collection rebuilt)' if self.rebuilt else ''}; {self.embedded} texts embedded"
            f"{f'; {len(self.skipped)} files skipped' if self.skipped else ''} in {self.seconds:.1f} s"
        )
