"""The kb-mcp server: three read-only tools and the `runbook://` resources over the knowledge base.

Glue only: arguments are bounded in the signatures (the JSON schema tells the client), checked again here,
and handed to `knowledge` (retrieval) and `answers` (grounding). Nothing here writes to Chroma.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Resolve, Sample
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    CreateMessageResult,
    ListResourcesResult,
    Resource,
    SamplingMessage,
    TextContent,
)
from pydantic import Field

from kb_mcp import __version__, prompts
from kb_mcp.answers import (
    ANSWER_SECTIONS,
    EXTRACT_SECTIONS,
    NOT_COVERED,
    SYSTEM_PROMPT,
    best_passage,
    check_citations,
    extractive_answer,
    grounding_prompt,
    relevant,
)
from kb_mcp.config import KbSettings
from kb_mcp.corpus import RUNBOOK_ID, Runbook
from kb_mcp.embed import Embedder
from kb_mcp.knowledge import KnowledgeBase
from kb_mcp.models import Answer, Citation, ErrorLookup, ErrorMatch, SearchHit, SearchResult
from kb_mcp.retrieval import CorpusIndex, Hit, error_signature, tokenize
from kb_mcp.store import RunbookStore
from mcp_common.errors import ResourceError, ResourceNotFoundError, ToolError
from mcp_common.factory import READ_ONLY, new_server
from mcp_common.prompts import add_investigate_prompt

logger = logging.getLogger(__name__)

MAX_QUERY = 1000
MAX_QUESTION = 2000
MAX_ERROR_TEXT = 8000
ERROR_CANDIDATES = 20
MARKDOWN = "text/markdown"

INSTRUCTIONS = """\
The SRE runbook knowledge base: how this organisation diagnoses, mitigates and escalates incidents
(pods crash-looping or OOMKilled, database connections, latency, certificates, Kafka lag, ...).
- search_runbooks: the runbook sections about a symptom, alert, command or exact error token.
- find_runbooks_for_error: paste a log line or error message; get the runbooks that address it and how to mitigate.
- ask_knowledge_base: a short answer grounded in the runbooks, with citations.
- Resources runbook://{id} (the whole runbook) and runbook://{id}/{section} (one section), as Markdown.
Everything comes from the runbooks; nothing here changes any system. Quote the runbook's commands as written."""


@dataclass(frozen=True)
class Retrieved:
    """What ask_knowledge_base retrieved: the relevant hits and the index they came from."""

    index: CorpusIndex
    hits: list[Hit]


def create_server(
    settings: KbSettings,
    *,
    embedder: Embedder | None = None,
    open_store: Callable[[KbSettings], RunbookStore] = RunbookStore.open,
) -> MCPServer[Any]:
    """The kb-mcp server. `embedder` lets tests share one loaded model (by default each lifespan loads its own);
    `open_store` lets them hold Chroma back to see what is served before it is read."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[KnowledgeBase]:
        kb = KnowledgeBase(settings, embedder=embedder, open_store=open_store)
        kb.start()  # returns at once: corpus and model load in the background
        try:
            yield kb
        finally:
            kb.close()

    async def health(kb: KnowledgeBase) -> bool:
        return kb.healthy()

    server = new_server(
        "kb-mcp", settings, instructions=INSTRUCTIONS, version=__version__, lifespan=lifespan, health=health
    )
    server.middleware.append(_list_runbooks)

    @server.tool(title="Search runbooks", annotations=READ_ONLY)
    async def search_runbooks(
        query: Annotated[
            str,
            Field(
                min_length=1,
                max_length=MAX_QUERY,
                description="What is wrong, in words or exact tokens: 'pods keep restarting out of memory', "
                "'OOMKilled 137', 'pg_stat_activity idle in transaction'.",
            ),
        ],
        ctx: Context,
        n_results: Annotated[int, Field(ge=1, le=10, description="How many sections to return (1-10).")] = 3,
        team_filter: Annotated[
            str | None, Field(max_length=40, description="Only runbooks owned by this team, e.g. platform, data.")
        ] = None,
        service: Annotated[
            str | None, Field(max_length=80, description="Only runbooks about this service, e.g. payment-gateway.")
        ] = None,
    ) -> SearchResult:
        """Search the SRE runbooks for the sections about a problem.

        Hybrid retrieval: exact-token BM25 (error strings, exit codes, metric names) fused with semantic vector
        similarity. Returns the best sections (Symptoms, Diagnosis, Mitigation, Escalation ...) with their text,
        a 0..1 relevance score and a runbook:// URI; read runbook://<id> for the whole runbook. For a pasted
        log line use find_runbooks_for_error; for a direct answer with citations use ask_knowledge_base.
        """
        text = _required(query, "query")
        team, svc = _optional(team_filter), _optional(service)
        _, hits = await _kb(ctx).search(text, n_results, team=team, service=svc)
        hint = None
        if not hits:
            hint = "no section matches these filters; drop team_filter or service, or rephrase"
        elif not relevant(hits):
            hint = "weak matches only: no section is close in meaning or shares the query's exact terms; rephrase"
        elif len(hits) == n_results and n_results < 10:
            hint = "more with a larger n_results (up to 10); the whole runbook at runbook://<id>"
        return SearchResult(
            query=text, team_filter=team, service=svc, hits=[_search_hit(hit) for hit in hits], hint=hint
        )

    @server.tool(title="Find runbooks for an error", annotations=READ_ONLY)
    async def find_runbooks_for_error(
        error_text: Annotated[
            str,
            Field(
                min_length=1,
                max_length=MAX_ERROR_TEXT,
                description="A log line, error message or stack trace head, as printed, e.g. "
                "'java.lang.OutOfMemoryError: Java heap space' or 'Circuit breaker OPEN for card-network-gateway'.",
            ),
        ],
        ctx: Context,
        n_results: Annotated[int, Field(ge=1, le=5, description="How many runbooks to return (1-5).")] = 3,
    ) -> ErrorLookup:
        """Find the runbooks that address an error or log line, with the section that matched and the fix.

        Timestamps, request ids, UUIDs and IP addresses are stripped; exception names, error phrases and codes
        are matched exactly and semantically. Each match gives the matched section's relevant lines and the
        runbook's Mitigation section. Use search_runbooks for a question in words.
        """
        signature = error_signature(_required(error_text, "error_text"))
        if not signature:
            raise ToolError("error_text has nothing to search once timestamps and ids are removed; paste the message")
        index, hits = await _kb(ctx).search(signature, ERROR_CANDIDATES)
        matches = _error_matches(index, signature, hits, n_results)
        hint = None if matches else "no runbook mentions this error; try search_runbooks with the symptom in words"
        return ErrorLookup(signature=signature, matches=matches, hint=hint)

    @server.tool(title="Ask the knowledge base", annotations=READ_ONLY)
    async def ask_knowledge_base(
        question: Annotated[
            str,
            Field(
                min_length=1,
                max_length=MAX_QUESTION,
                description="The on-call question, e.g. 'how do I stop payment-gateway pods being OOMKilled?'",
            ),
        ],
        retrieved: Annotated[Retrieved, Resolve(_retrieve_for_question)],
        sampled: Annotated[CreateMessageResult | None, Resolve(_sample_answer)],
    ) -> Answer:
        """Answer an on-call question from the runbooks only, with citations to the sections used.

        If your client supports MCP sampling, its model writes the answer from the retrieved sections and must
        cite them as [runbook-id#section]; otherwise the answer quotes the best passages and says no model was
        used. When no runbook covers the question the answer says so instead of guessing. Read a cited section
        at its runbook:// URI for the full text.
        """
        text = question.strip()
        hits = retrieved.hits
        if not hits:
            return Answer(question=text, answer=NOT_COVERED, method="not_found", citations=[])
        if sampled is not None:
            return _sampled_answer(text, hits, sampled)
        return Answer(
            question=text,
            answer=extractive_answer(text, hits, retrieved.index.bm25.idf),
            method="extractive",
            citations=[_citation(hit) for hit in hits[:EXTRACT_SECTIONS]],
            note="No model was used: the client does not support MCP sampling, so these are the runbook "
            "passages that match the question best, quoted as written.",
        )

    @server.resource(
        "runbook://{runbook_id}",
        name="runbook",
        title="Runbook",
        description="A whole runbook as Markdown (front matter, then Symptoms, Diagnosis, Mitigation, Escalation).",
        mime_type=MARKDOWN,
    )
    async def read_runbook(runbook_id: str, ctx: Context) -> str:
        return (await _runbook(ctx, runbook_id)).markdown

    @server.resource(
        "runbook://{runbook_id}/{section}",
        name="runbook-section",
        title="Runbook section",
        description="One section of a runbook, e.g. runbook://pod-crash/mitigation.",
        mime_type=MARKDOWN,
    )
    async def read_runbook_section(runbook_id: str, section: str, ctx: Context) -> str:
        runbook = await _runbook(ctx, runbook_id)
        found = runbook.section(section)
        if found is None:
            slugs = ", ".join(s.slug for s in runbook.sections)
            raise ResourceNotFoundError(f"runbook '{runbook.id}' has no section '{section[:60]}'; sections: {slugs}")
        return f"# {runbook.title}\n\n## {found.heading}\n\n{found.text}\n"

    add_investigate_prompt(server, "Investigate an incident (runbooks)", prompts.investigate_incident)

    return server


# ---- ask_knowledge_base resolvers: retrieval, then (if the client can) a sampling request ------------------


async def _retrieve_for_question(question: str, ctx: Context) -> Retrieved:
    text = _required(question, "question")
    index, hits = await _kb(ctx).search(text, ANSWER_SECTIONS)
    return Retrieved(index=index, hits=relevant(hits))


async def _sample_answer(
    question: str, retrieved: Annotated[Retrieved, Resolve(_retrieve_for_question)], ctx: Context
) -> Sample | None:
    capabilities = ctx.client_capabilities
    if not retrieved.hits or capabilities is None or capabilities.sampling is None:
        return None  # nothing to ground an answer in, or no model to ask: the tool answers extractively
    prompt = grounding_prompt(question.strip(), retrieved.hits)
    return Sample(
        [SamplingMessage(role="user", content=TextContent(type="text", text=prompt))],
        max_tokens=_kb(ctx).settings.answer_max_tokens,
        system_prompt=SYSTEM_PROMPT,
        temperature=0.1,
        include_context="none",
    )


def _sampled_answer(question: str, hits: list[Hit], sampled: CreateMessageResult) -> Answer:
    content = sampled.content
    text = content.text.strip() if isinstance(content, TextContent) else ""
    if not text:
        return Answer(
            question=question,
            answer=NOT_COVERED,
            method="sampling",
            model=sampled.model,
            citations=[],
            note="The client's model returned no text.",
        )
    checked = check_citations(text, hits)
    notes = []
    if not checked.cited and NOT_COVERED not in text:
        notes.append("The model cited no section; treat the answer as unsupported and read the sections listed.")
    if checked.unknown:
        notes.append(
            f"The model cited {', '.join(checked.unknown)}, which it was not given; those statements are unsupported."
        )
    cited = checked.cited or ([] if NOT_COVERED in text else hits)
    return Answer(
        question=question,
        answer=text,
        method="sampling",
        model=sampled.model,
        citations=[_citation(hit) for hit in cited],
        note=" ".join(notes) or None,
    )


# ---- helpers ----------------------------------------------------------------------------------------------


def _kb(ctx: Context) -> KnowledgeBase:
    kb = ctx.request_context.lifespan_context
    if not isinstance(kb, KnowledgeBase):
        raise ToolError("the knowledge base is not running")
    return kb


def _required(value: str, name: str) -> str:
    # Defence in depth: the schema already bounds the length; whitespace-only is not a query either.
    text = value.strip()
    if not text:
        raise ToolError(f"{name} must not be empty or only whitespace")
    return text


def _optional(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None


def _search_hit(hit: Hit) -> SearchHit:
    return SearchHit(
        runbook_id=hit.runbook.id,
        title=hit.runbook.title,
        section=hit.section.heading,
        team=hit.runbook.team,
        score=hit.score,
        uri=hit.section.uri,
        text=hit.section.text,
    )


def _citation(hit: Hit) -> Citation:
    runbook, section = hit.runbook, hit.section
    return Citation(runbook_id=runbook.id, section=section.heading, title=runbook.title, uri=section.uri)


def _error_matches(index: CorpusIndex, signature: str, hits: list[Hit], limit: int) -> list[ErrorMatch]:
    """The best hit per runbook, best runbooks first, each with its matching lines and its Mitigation."""
    terms = set(tokenize(signature))
    matches: list[ErrorMatch] = []
    seen: set[str] = set()
    for hit in relevant(hits):
        runbook = hit.runbook
        if runbook.id in seen:
            continue
        seen.add(runbook.id)
        mitigation = runbook.section("mitigation")
        show_mitigation = mitigation is not None and mitigation.slug != hit.section.slug
        matches.append(
            ErrorMatch(
                runbook_id=runbook.id,
                title=runbook.title,
                team=runbook.team,
                score=hit.score,
                matched_section=hit.section.heading,
                matched_uri=hit.section.uri,
                excerpt=best_passage(hit.section.text, terms, index.bm25.idf, max_chars=500),
                mitigation=mitigation.text if show_mitigation and mitigation else None,
                mitigation_uri=mitigation.uri if show_mitigation and mitigation else None,
                uri=runbook.uri,
            )
        )
        if len(matches) == limit:
            break
    return matches


async def _runbook(ctx: Context, runbook_id: str) -> Runbook:
    try:
        index = await _kb(ctx).index(allow_empty=True)
    except ToolError as exc:
        raise ResourceError(str(exc)) from None  # the store, not the URI, is the problem
    runbook = index.runbooks.get(runbook_id) if RUNBOOK_ID.match(runbook_id) else None
    if runbook is None:
        if index.is_empty:
            raise ResourceNotFoundError(f"runbook '{runbook_id[:80]}' not found: the knowledge base is empty (ingest)")
        available = sorted(index.runbooks)
        shown = ", ".join(available[:40]) + (f" (+{len(available) - 40} more)" if len(available) > 40 else "")
        raise ResourceNotFoundError(f"runbook '{runbook_id[:80]}' not found; available: {shown}")
    return runbook


async def _list_runbooks(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Answer resources/list with one `runbook://<id>` per runbook in the store (the set is only known at run time)."""
    if ctx.method != "resources/list":
        return await call_next(ctx)
    kb = ctx.lifespan_context
    if not isinstance(kb, KnowledgeBase):
        return await call_next(ctx)
    try:
        index = await kb.index(allow_empty=True)
    except ToolError as exc:
        raise MCPError(code=INTERNAL_ERROR, message=str(exc)) from None
    return ListResourcesResult(resources=[_resource(runbook) for runbook in index.runbooks.values()])


def _resource(runbook: Runbook) -> Resource:
    services = f"; services: {', '.join(runbook.services)}" if runbook.services else ""
    sections = ", ".join(s.heading for s in runbook.sections)
    return Resource(
        uri=runbook.uri,
        name=runbook.id,
        title=runbook.title,
        description=f"{runbook.title} — team {runbook.team}{services}. Sections: {sections}.",
        mime_type=MARKDOWN,
    )
