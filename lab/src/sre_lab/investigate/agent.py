"""The agent driver: a model picks the tools; the model is behind a small boundary (`Model`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from sre_lab.investigate.session import LimitReached, Session

if TYPE_CHECKING:
    import anthropic

SERVER_OF_PREFIX = {"k8s": "k8s-mcp", "logs": "logs-mcp", "kb": "kb-mcp"}


class ToolUse(BaseModel):
    id: str
    name: str
    input: dict[str, Any]


class ModelTurn(BaseModel):
    """One model response: text, and the tool calls it asks for (none means it is done)."""

    text: str = ""
    tool_uses: list[ToolUse] = []

    def as_message(self) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": self.text}] if self.text else []
        content += [{"type": "tool_use", "id": t.id, "name": t.name, "input": t.input} for t in self.tool_uses]
        return {"role": "assistant", "content": content}


class ModelUnavailable(Exception):
    """The model could not answer (unreachable, bad key, refused request); the message says which."""


class Model(Protocol):
    """The boundary: one turn of the conversation. Raises `ModelUnavailable` when the model cannot answer."""

    async def respond(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelTurn: ...


class AnthropicModel:
    """Claude through the Anthropic Messages API (ANTHROPIC_API_KEY, and ANTHROPIC_BASE_URL if set)."""

    def __init__(self, model: str, max_tokens: int = 2048, timeout_s: float = 60.0, max_retries: int = 1) -> None:
        import anthropic  # noqa: PLC0415 - 1-3 s to import: only the agent driver pays for it

        self.api = anthropic
        self.client = anthropic.AsyncAnthropic(timeout=timeout_s, max_retries=max_retries)
        self.model = model
        self.max_tokens = max_tokens

    async def respond(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelTurn:
        # Our messages and tool specs are the API's JSON shapes; the SDK's TypedDicts describe the same thing.
        try:
            response = await self.client.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=system,
                messages=messages,  # type: ignore[arg-type]
                tools=tools,  # type: ignore[arg-type]
            )
        except self.api.APIStatusError as exc:
            raise ModelUnavailable(
                f"the Anthropic API refused the request ({exc.status_code}: {_reason(exc)})"
            ) from exc
        except self.api.APIConnectionError as exc:
            raise ModelUnavailable(f"the Anthropic API is unreachable ({exc.__cause__ or exc})") from exc
        text = "".join(block.text for block in response.content if block.type == "text")
        uses = [ToolUse(id=b.id, name=b.name, input=dict(b.input)) for b in response.content if b.type == "tool_use"]
        return ModelTurn(text=text, tool_uses=uses)


AGENT_SYSTEM = """You are the on-call SRE for a payments platform. You have three MCP servers' tools:
k8s__* (Kubernetes, read-only), logs__* (application logs in ClickHouse) and kb__* (the runbooks).
Investigate the reported symptom: check Kubernetes pod status, search the logs, find the relevant runbooks.
Use only what the tools return. Finish with: probable root cause, impact, and next steps citing runbook:// URIs."""

_PREFIX = {"k8s-mcp": "k8s", "logs-mcp": "logs", "kb-mcp": "kb"}


async def agent_tools(session: Session) -> list[dict[str, Any]]:
    tools = []
    for server, client in session.clients.items():
        for tool in (await client.list_tools()).tools:
            tools.append(
                {
                    "name": f"{_PREFIX[server]}__{tool.name}",
                    "description": (tool.description or "")[:1024],
                    "input_schema": tool.input_schema,
                }
            )
    return tools


async def run_agent(session: Session, symptom: str, model: Model) -> str:
    """Let the model drive; return its final text. Limits surface as `LimitReached`."""
    tools = await agent_tools(session)
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"Symptom: {symptom}"}]
    while True:
        if session.clock() - session.started > session.max_seconds:
            raise LimitReached("time", f"stopped after {session.max_seconds:g} s (--max-seconds)")
        turn = await model.respond(AGENT_SYSTEM, messages, tools)
        messages.append(turn.as_message())
        if not turn.tool_uses:
            return turn.text
        results = []
        for use in turn.tool_uses:
            prefix, _, tool = use.name.partition("__")
            server = SERVER_OF_PREFIX.get(prefix)
            if server is None:
                results.append(
                    {"type": "tool_result", "tool_use_id": use.id, "content": "unknown tool", "is_error": True}
                )
                continue
            data = await session.call(server, tool, use.input)
            content = json.dumps(data)[:20_000] if data is not None else session.calls[-1].summary
            results.append({"type": "tool_result", "tool_use_id": use.id, "content": content, "is_error": data is None})
        messages.append({"role": "user", "content": results})


def _reason(exc: anthropic.APIStatusError) -> str:
    """The API's own error message (`{"error": {"message": ...}}`), else the status line."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    return str(message or exc.message)
