"""Output models: compact (no nulls on the wire) and bounded lists that say when they truncated."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, model_serializer


class CompactModel(BaseModel):
    """A result model whose serialized form drops `None` fields, so clients get no nulls."""

    model_config = ConfigDict(extra="forbid")

    @model_serializer(mode="wrap")
    def _drop_none(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        return {key: value for key, value in data.items() if value is not None}


T = TypeVar("T")


def bounded(items: list[T], limit: int) -> tuple[list[T], int, bool]:
    """Cut `items` to `limit`; return (kept, total, truncated)."""
    return items[:limit], len(items), len(items) > limit
