"""Checks of tool arguments beyond what the JSON schema says, and the keyword's SQL condition.

Defence in depth behind the schema (the values are bound as parameters either way): names, levels and orders
from fixed lists, bounded text, and a keyword turned into a condition chosen from fixed SQL text.
"""

from __future__ import annotations

import re

from mcp_common.errors import ToolError

LEVELS = ("ERROR", "WARN", "INFO", "DEBUG")
GROUP_BY = ("service", "host", "message")

MAX_SERVICE = 256
ORDERS = {"newest": "DESC", "oldest": "ASC"}
MATCHES = ("word", "substring")
MAX_TOKENS = 8  # word conditions per search (the longest words of the keyword: the most selective)
# A word as ClickHouse's token functions see it: a run of ASCII letters and digits or of non-ASCII characters.
# hasToken takes only ASCII needles, so words holding a non-ASCII character are matched as substrings only.
WORD_RUN = re.compile(r"[A-Za-z0-9\u0080-\U0010ffff]+")
ASCII_WORD = re.compile(r"[a-z0-9]+")
# Defence in depth behind the JSON schema: trace ids are plain tokens (they are bound either way).
TRACE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
MAX_KEYWORD = 200


def check_service(service: str | None) -> str:
    """'' for no filter; else the service name as the source holds it (any text: it is a bound parameter)."""
    if service is None:
        return ""
    if not service or len(service) > MAX_SERVICE or any(ch in service for ch in "\x00\n\r"):
        raise ToolError(
            f"service must be 1 to {MAX_SERVICE} characters, not holding a line break or NUL "
            f"(got {len(service)} characters); list_services shows the names"
        )
    return service


def check_level(level: str | None) -> str:
    if level is None:
        return ""
    if level not in LEVELS:
        raise ToolError(f"level {level[:40]!r} is not allowed; allowed: {', '.join(LEVELS)}")
    return level


def like_pattern(keyword: str | None) -> str:
    """The keyword as a LIKE pattern that matches it literally anywhere: %, _ and \\ are escaped."""
    if keyword is None:
        return ""
    if not keyword or len(keyword) > MAX_KEYWORD:
        raise ToolError(f"keyword must be 1 to {MAX_KEYWORD} characters (got {len(keyword)})")
    escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def word_tokens(keyword: str | None) -> list[str]:
    """The keyword's words that each matching line must hold as a whole word (match=word): its runs of ASCII
    letters and digits, lowercased, longest first, at most MAX_TOKENS. Bound as parameters, like every value."""
    if not keyword:
        return []
    runs = {run for run in WORD_RUN.findall(keyword.lower()) if ASCII_WORD.fullmatch(run)}
    return sorted(runs, key=lambda run: (-len(run), run))[:MAX_TOKENS]


def keyword_condition(keyword: str | None, match: str) -> tuple[str, dict[str, str]]:
    """The keyword's SQL condition (chosen from fixed text by the match and the number of words) and its bound
    parameters: nothing without a keyword; match=word: each word a whole word of the line (hasToken, which the
    message index answers) and the keyword a case-insensitive substring; match=substring: a LIKE pattern."""
    if keyword is None:
        return "", {}
    pattern = like_pattern(keyword)
    tokens = word_tokens(keyword) if match == "word" else []
    if match == "substring" or not tokens:  # no ASCII word to look up: a substring it is
        return "\n  AND lowerUTF8(message) LIKE lowerUTF8({pattern:String})", {"pattern": pattern}
    words = "".join(f"\n  AND hasToken(lowerUTF8(message), {{token{i}:String}})" for i in range(len(tokens)))
    condition = f"{words}\n  AND positionCaseInsensitiveUTF8(message, {{keyword:String}}) > 0"
    return condition, {"keyword": keyword, **{f"token{i}": token for i, token in enumerate(tokens)}}
