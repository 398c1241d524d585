"""The kb-mcp server: three read-only tools and the `runbook://` resources over the knowledge base.

Glue only: arguments are bounded in the signatures (the JSON schema tells the client), checked again here,
and handed to `knowledge` (retrieval) and `answers` (grounding). The lifespan yields the `AppContext` (the
settings, the model and the store opening in the background, the corpus) that every tool reaches through its
`ctx`. Nothing here writes to Chroma.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

import anyio
from anyio.abc import TaskGroup
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Resolve, Sample
from mcp_types import INTERNAL_ERROR, CreateMessageResult, ListResourcesResult, Resource, SamplingMessage, TextContent
from pydantic import Field

from kb_mcp import __version__, prompts
from kb_mcp.answers import (
    ANSWER_SECTIONS,
    EXTRACT_SECTIONS,
    NOT_COVERED,
    SYSTEM_PROMPT,
    citation,
    error_matches,
    extractive_answer,
    grounding_prompt,
    relevant,
    sampled_answer,
    search_hit,
)
from kb_mcp.config import KbSettings
from kb_mcp.corpus import RUNBOOK_ID, Runbook
from kb_mcp.embed import Embedder
from kb_mcp.knowledge import Corpus, QueryVectors, check_filters, model_mismatch, search
from kb_mcp.models import Answer, ErrorLookup, SearchResult
from kb_mcp.retrieval import CorpusIndex, Hit, Mode, error_signature
from kb_mcp.store import RunbookStore
from mcp_common.background import Background
from mcp_common.blocking import run_blocking
from mcp_common.errors import (
    InvalidArgumentError,
    MCPError,
    ResourceNotFoundError,
    StoreUnavailableError,
    UnavailableError,
)
from mcp_common.factory import READ_ONLY, new_server
from mcp_common.prompts import add_investigate_prompt

logger = logging.getLogger(__name__)

MAX_QUERY = 1000
MAX_QUESTION = 2000
MAX_ERROR_TEXT = 8000
ERROR_CANDIDATES = 20
MARKDOWN = "text/markdown"
MODEL = "the embedding model"
STORE = "the runbook store"

INSTRUCTIONS = """\
The SRE runbook knowledge base: how this organisation diagnoses, mitigates and escalates incidents
(pods crash-looping or OOMKilled, database connections, latency, certificates, Kafka lag, ...).
- search_runbooks: the runbook sections about a symptom, alert, command or exact error token.
- find_runbooks_for_error: paste a log line or error message; get the runbooks that address it and how to mitigate.
- ask_knowledge_base: a short answer grounded in the runbooks, with citations.
- Resources runbook://{id} (the whole runbook) and runbook://{id}/{section} (one section), as Markdown.
Everything comes from the runbooks; nothing here changes any system. Quote the runbook's commands as written."""


@dataclass(frozen=True)
class AppContext:
    """What the lifespan yields and every tool reaches through `ctx.request_context.lifespan_context`."""

    settings: KbSettings
    model: Background[Embedder]
    store: Background[RunbookStore]
    corpus: Corpus
    queries: QueryVectors

    async def index(self, *, allow_empty: bool = False) -> CorpusIndex:
        """The corpus index (from the local copy until Chroma has been read)."""
        return await self.corpus.current(self.store, allow_empty=allow_empty)

    async def search(
        self, query: str, n_results: int, *, team: str | None = None, service: str | None = None, mode: Mode = "hybrid"
    ) -> tuple[CorpusIndex, list[Hit]]:
        """The best sections for `query`; waits (up to its deadline) for the model still loading."""
        index = await self.index()
        check_filters(index, team, service)
        embedder = await self.model.get() if mode != "bm25" else None
        problem = model_mismatch(self.settings, index, embedder)
        if problem:
            raise StoreUnavailableError(problem)
        queries = self.queries
        run = partial(
            search, index, query, n_results, embedder=embedder, queries=queries, team=team, service=service, mode=mode
        )
        if embedder is None or self.queries.cached(query):
            # No embedding to do: BM25, one matrix product and the fusion take well under a millisecond here,
            # less than handing them to a worker thread and back (a repeated query, a sampled answer's rounds).
            return index, run()
        return index, await run_blocking(run, timeout_s=self.settings.search_timeout_s, what="search_runbooks")

    async def healthy(self) -> bool:
        """Serving is possible: the corpus was read from Chroma (maybe empty), the model is not failing, the
        stored vectors fit the model. The model may still be loading: searches wait for it."""
        index = self.corpus.index
        return (
            self.store.value is not None
            and index is not None
            and self.corpus.problem is None
            and self.model.problem is None
            and model_mismatch(self.settings, index, self.model.value) is None
        )


def create_server(
    settings: KbSettings,
    *,
    embedder: Embedder | None = None,
    open_store: Callable[[KbSettings], RunbookStore] = RunbookStore.open,
    clock: Callable[[], float] = time.monotonic,
) -> MCPServer[AppContext]:
    """The kb-mcp server. `embedder` lets tests share one loaded model (by default the lifespan loads its own);
    `open_store` lets them hold Chroma back to see what is served before it is read; `clock` drives refreshes."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppContext]) -> AsyncIterator[AppContext]:
        model = (
            Background.ready(embedder, MODEL)
            if embedder is not None
            else Background(MODEL, partial(Embedder.open, settings), close=Embedder.close, wait_s=settings.model_wait_s)
        )
        store = Background(STORE, partial(open_store, settings), close=RunbookStore.close, wait_s=settings.model_wait_s)
        app = AppContext(settings, model, store, Corpus(settings, clock), QueryVectors())
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_open, app, tasks)
            try:
                yield app
            finally:
                tasks.cancel_scope.cancel()
                await model.aclose()
                await store.aclose()

    server = new_server(
        "kb-mcp", settings, instructions=INSTRUCTIONS, version=__version__, lifespan=lifespan, health=AppContext.healthy
    )
    server.middleware.append(_list_runbooks)

    @server.tool(title="Search runbooks", annotations=READ_ONLY)
    async def search_runbooks(
        ctx: Context[AppContext],
        query: Annotated[
            str,
            Field(
                min_length=1,
                max_length=MAX_QUERY,
                description="What is wrong, in words or exact tokens: 'pods keep restarting out of memory', "
                "'OOMKilled 137', 'pg_stat_activity idle in transaction'.",
            ),
        ],
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
        _, hits = await ctx.request_context.lifespan_context.search(text, n_results, team=team, service=svc)
        hint = None
        if not hits:
            hint = "no section matches these filters; drop team_filter or service, or rephrase"
        elif not relevant(hits):
            hint = "weak matches only: no section is close in meaning or shares the query's exact terms; rephrase"
        elif len(hits) == n_results and n_results < 10:
            hint = "more with a larger n_results (up to 10); the whole runbook at runbook://<id>"
        return SearchResult(
            query=text, team_filter=team, service=svc, hits=[search_hit(hit) for hit in hits], hint=hint
        )

    @server.tool(title="Find runbooks for an error", annotations=READ_ONLY)
    async def find_runbooks_for_error(
        ctx: Context[AppContext],
        error_text: Annotated[
            str,
            Field(
                min_length=1,
                max_length=MAX_ERROR_TEXT,
                description="A log line, error message or stack trace head, as printed, e.g. "
                "'java.lang.OutOfMemoryError: Java heap space' or 'Circuit breaker OPEN for card-network-gateway'.",
            ),
        ],
        n_results: Annotated[int, Field(ge=1, le=5, description="How many runbooks to return (1-5).")] = 3,
    ) -> ErrorLookup:
        """Find the runbooks that address an error or log line, with the section that matched and the fix.

        Timestamps, request ids, UUIDs and IP addresses are stripped; exception names, error phrases and codes
        are matched exactly and semantically. Each match gives the matched section's relevant lines and the
        runbook's Mitigation section. Use search_runbooks for a question in words.
        """
        signature = error_signature(_required(error_text, "error_text"))
        if not signature:
            raise InvalidArgumentError(
                "error_text has nothing to search once timestamps and ids are removed; paste the message"
            )
        index, hits = await ctx.request_context.lifespan_context.search(signature, ERROR_CANDIDATES)
        matches = error_matches(index, signature, hits, n_results)
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
            content = sampled.content
            answer = content.text.strip() if isinstance(content, TextContent) else ""
            return sampled_answer(text, hits, answer, sampled.model)
        return Answer(
            question=text,
            answer=extractive_answer(text, hits, retrieved.index.bm25.idf),
            method="extractive",
            citations=[citation(hit) for hit in hits[:EXTRACT_SECTIONS]],
            note="No model was used: the client does not support MCP sampling, so these are the runbook "
            "passages that match the question best, quoted as written.",
        )

    _add_resources(server)
    add_investigate_prompt(server, "Investigate an incident (runbooks)", prompts.investigate_incident)

    return server


def _add_resources(server: MCPServer[AppContext]) -> None:
    """runbook://{id} and runbook://{id}/{section}, read from the corpus index."""

    @server.resource(
        "runbook://{runbook_id}",
        name="runbook",
        title="Runbook",
        description="A whole runbook as Markdown (front matter, then its sections: Symptoms, Diagnosis...).",
        mime_type=MARKDOWN,
    )
    async def read_runbook(runbook_id: str, ctx: Context[AppContext]) -> str:
        return (await _runbook(ctx.request_context.lifespan_context, runbook_id)).markdown

    @server.resource(
        "runbook://{runbook_id}/{section}",
        name="runbook-section",
        title="Runbook section",
        description="One section of a runbook, e.g. runbook://pod-crash/mitigation.",
        mime_type=MARKDOWN,
    )
    async def read_runbook_section(runbook_id: str, section: str, ctx: Context[AppContext]) -> str:
        runbook = await _runbook(ctx.request_context.lifespan_context, runbook_id)
        found = runbook.section(section)
        if found is None:
            slugs = ", ".join(s.slug for s in runbook.sections)
            raise ResourceNotFoundError(f"runbook '{runbook.id}' has no section '{section[:60]}'; sections: {slugs}")
        return f"# {runbook.title}\n\n## {found.heading}\n\n{found.text}\n"


async def _open(app: AppContext, tasks: TaskGroup) -> None:
    """The lifespan's openings, in the order that answers the first search soonest."""
    try:
        if await app.corpus.load_copy():
            # The local copy holds the index: the first search needs only the model, so it opens first, and
            # Chroma (its import alone takes about a second of CPU) is read once it is ready. Loading the model
            # while the copy is read was measured slower (tools/list and the first search): its Python-side
            # loading competes with the SDK's answers for the GIL.
            await app.model.open()
        else:
            tasks.start_soon(app.model.open)
        await app.store.open()
        await app.corpus.refresh(app.store, force=True)
    except Exception:
        # A bug in opening must not take the server down: the calls that need the corpus say it is unavailable.
        logger.exception("opening the knowledge base failed")
        app.corpus.problem = "opening the knowledge base failed; the server logged the details"


# ---- ask_knowledge_base resolvers: retrieval, then (if the client can) a sampling request ------------------


@dataclass(frozen=True)
class Retrieved:
    """What ask_knowledge_base retrieved: the relevant hits and the index they came from."""

    index: CorpusIndex
    hits: list[Hit]


async def _retrieve_for_question(question: str, ctx: Context[AppContext]) -> Retrieved:
    text = _required(question, "question")
    index, hits = await ctx.request_context.lifespan_context.search(text, ANSWER_SECTIONS)
    return Retrieved(index=index, hits=relevant(hits))


async def _sample_answer(
    question: str, retrieved: Annotated[Retrieved, Resolve(_retrieve_for_question)], ctx: Context[AppContext]
) -> Sample | None:
    capabilities = ctx.client_capabilities
    if not retrieved.hits or capabilities is None or capabilities.sampling is None:
        return None  # nothing to ground an answer in, or no model to ask: the tool answers extractively
    prompt = grounding_prompt(question.strip(), retrieved.hits)
    return Sample(
        [SamplingMessage(role="user", content=TextContent(type="text", text=prompt))],
        max_tokens=ctx.request_context.lifespan_context.settings.answer_max_tokens,
        system_prompt=SYSTEM_PROMPT,
        temperature=0.1,
        include_context="none",
    )


# ---- helpers ----------------------------------------------------------------------------------------------


def _required(value: str, name: str) -> str:
    # Defence in depth: the schema already bounds the length; whitespace-only is not a query either.
    text = value.strip()
    if not text:
        raise InvalidArgumentError(f"{name} must not be empty or only whitespace")
    return text


def _optional(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None


async def _runbook(app: AppContext, runbook_id: str) -> Runbook:
    index = await app.index(allow_empty=True)
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
    app = ctx.lifespan_context
    if not isinstance(app, AppContext):
        return await call_next(ctx)
    try:
        index = await app.index(allow_empty=True)
    except UnavailableError as exc:
        raise MCPError(code=INTERNAL_ERROR, message=str(exc)) from None
    return ListResourcesResult(resources=[_resource(runbook) for runbook in index.runbooks.values()])


def _resource(runbook: Runbook) -> Resource:
    owner = f" — team {runbook.team}" if runbook.team else ""
    services = f"; services: {', '.join(runbook.services)}" if runbook.services else ""
    sections = ", ".join(s.heading for s in runbook.sections)
    return Resource(
        uri=runbook.uri,
        name=runbook.id,
        title=runbook.title,
        description=f"{runbook.title}{owner}{services}. Sections: {sections}.",
        mime_type=MARKDOWN,
    )
