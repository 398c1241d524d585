"""ask_knowledge_base through the protocol: extractive without sampling, sampled when the client offers it."""

from __future__ import annotations

import re

import pytest
from mcp import Client
from mcp_types import CreateMessageRequestParams, CreateMessageResult, TextContent

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # the real model and Chroma


class FakeClientModel:
    """The client's model for sampling: records what it was asked and answers with `answer`, in which
    {first} and {second} become the first two section tags of the prompt (a model citing what it was given)."""

    def __init__(self, answer: str) -> None:
        self.template = answer
        self.answer = ""
        self.requests: list[CreateMessageRequestParams] = []

    async def __call__(self, context, params: CreateMessageRequestParams) -> CreateMessageResult:
        self.requests.append(params)
        tags = re.findall(r"^\[([a-z0-9-]+#[a-z0-9-]+)\]", params.messages[0].content.text, re.M)
        self.answer = self.template.format(first=tags[0], second=tags[1])
        return CreateMessageResult(
            role="assistant", content=TextContent(type="text", text=self.answer), model="test-model-1"
        )


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


async def test_without_sampling_the_answer_quotes_the_runbooks_and_says_no_model_was_used(kb_server) -> None:
    question = "how do I stop payment-gateway pods being OOMKilled?"
    async with Client(kb_server) as client:
        result = await client.call_tool("ask_knowledge_base", {"question": question})
        assert not result.is_error, result.content[0].text
        answer = result.structured_content
        cited = [(await client.read_resource(c["uri"])).contents[0].text for c in answer["citations"]]
    assert answer["method"] == "extractive" and "model" not in answer
    assert "No model was used" in answer["note"]
    assert answer["citations"] and {c["runbook_id"] for c in answer["citations"]} & {"pod-crash", "oom-jvm-heap"}
    # Grounded: every quoted passage is text of a cited section, verbatim.
    corpus = _norm(" ".join(cited))
    for block in answer["answer"].split("\n\n"):
        tag_line, _, passage = block.partition(":\n")
        assert re.match(r"^\[[a-z0-9-]+#[a-z0-9-]+\] ", tag_line)
        for line in passage.splitlines():
            assert _norm(line) in corpus, line


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_with_sampling_the_clients_model_answers_from_the_sections_with_citations(kb_server, mode) -> None:
    model = FakeClientModel("Raise the memory limit [{first}]. Then find what allocates [{second}] [{first}].")
    async with Client(kb_server, mode=mode, sampling_callback=model) as client:
        result = await client.call_tool(
            "ask_knowledge_base", {"question": "payment-gateway pods keep getting OOMKilled, what do I do?"}
        )
    assert not result.is_error, result.content[0].text
    answer = result.structured_content
    assert answer["method"] == "sampling" and answer["model"] == "test-model-1"
    assert answer["answer"] == model.answer
    (request,) = model.requests
    first, second = re.findall(r"\[([^\]]+)\]", model.answer)[:2]
    assert [c["uri"] for c in answer["citations"]] == [
        "runbook://" + first.replace("#", "/"),
        "runbook://" + second.replace("#", "/"),
    ], "cited sections, in order of first citation, each once"
    assert answer["citations"][0]["runbook_id"] in {"pod-crash", "oom-jvm-heap"}
    assert "note" not in answer
    assert "ONLY" in (request.system_prompt or "") and request.max_tokens == 800
    prompt = request.messages[0].content.text
    assert "payment-gateway pods keep getting OOMKilled" in prompt
    assert "kubectl set resources deployment/payment-gateway" in prompt, "the sections' text goes to the model"


async def test_a_citation_the_model_was_not_given_is_flagged(kb_server) -> None:
    model = FakeClientModel("Restart the whole cluster [cluster-reboot#mitigation], see [{first}].")
    async with Client(kb_server, sampling_callback=model) as client:
        result = await client.call_tool("ask_knowledge_base", {"question": "pods keep restarting out of memory"})
    answer = result.structured_content
    assert answer["method"] == "sampling"
    assert "cluster-reboot#mitigation" in answer["note"] and "unsupported" in answer["note"]


async def test_a_question_no_runbook_covers_is_answered_as_such_without_asking_the_model(kb_server) -> None:
    model = FakeClientModel("Paris [{first}] [{second}].")
    async with Client(kb_server, sampling_callback=model) as client:
        result = await client.call_tool("ask_knowledge_base", {"question": "what is the capital of France?"})
    answer = result.structured_content
    assert answer["method"] == "not_found"
    assert answer["answer"] == "The runbooks do not cover this."
    assert answer["citations"] == []
    assert model.requests == [], "nothing to ground an answer in: the model is not asked"


@pytest.mark.parametrize(
    ("question", "expected"),
    [("", "question: must not be empty"), ("  \n ", "question must not be empty"), ("x" * 3000, "too long")],
)
async def test_bad_questions_are_clear_errors(kb_server, question: str, expected: str) -> None:
    async with Client(kb_server) as client:
        result = await client.call_tool("ask_knowledge_base", {"question": question})
    assert result.is_error and expected in result.content[0].text
