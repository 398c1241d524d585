"""Message templates: the signature rules (SQL, per line) and the merge of signatures into templates (Python).

Two stages, because each is cheap where it runs:

1. **Signature** (ClickHouse, per line): `sql/signature_rules.sql`, a list of RE2 rules applied in order, masks
   what is variable by its shape: timestamps and dates (free text with weekday and month names too), UUIDs,
   URLs, host names (with a digit, or any domain name with a port) and IPs with ports, MAC addresses, paths, hex,
   sizes and durations with their units, ids (`blk_-695…`, `tx-abc123`, `job_1445_0020`, `30546354_149225542`,
   Windows component identities), lists of node names (`bn654 bn655 …`), booleans, quoted values, `key=value`
   values, numbers. Word boundaries keep digits that belong to an identifier (`jk2_init()`, `ssh2`, `en0`). The
   rules become the schema's `log_signature` function, or an inline expression for a table that has no signature
   column (no DDL on a read-only account).
2. **Merge** (here, over the few thousand distinct signatures of a window): signatures that differ only in
   the kind of a placeholder (`from <ip>` / `from <host>`), or in a bracketed or quoted value that one of them
   leaves empty (`from <ip> ()` / `from <ip> (<host>)`), are one template; a word right after a naming word
   (`user webmaster`, `for root`) is a variable when the window holds at least two values in that place with
   everything else equal: evidence from the data, not a list of user names.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache

from logs_mcp.sql import load_sql

PLACEHOLDER = re.compile(r"<(?:\*|[a-z]+)>")
WILDCARD = "<*>"
# A whole token that is an empty pair of brackets or quotes is that slot without a value: the same shape as
# the slot holding a placeholder (`()` and `(<host>)` are both `(<*>)`).
EMPTY_SLOTS = {"()": "(<*>)", "[]": "[<*>]", "{}": "{<*>}", '""': '"<*>"', "''": "'<*>'"}
# Words after which the next word names a thing (a user, a host, a node): a variable where the data varies it.
NAMING_WORDS = frozenset(
    {"user", "username", "login", "account", "for", "host", "hostname", "node", "group", "by", "class"}
)


@cache
def signature_rules() -> list[str]:
    """The rule lines of `sql/signature_rules.sql`: each `'<pattern>', '<replacement>'` (SQL literals)."""
    return [
        line.strip()
        for line in load_sql("signature_rules").splitlines()
        if line.strip() and not line.lstrip().startswith("--")
    ]


def signature_expression(message: str) -> str:
    """The signature of the SQL expression `message` (a column name or expression), as one SQL expression."""
    expression = message
    for rule in signature_rules():
        expression = f"replaceRegexpAll({expression}, {rule})"
    return expression


def signature_function() -> str:
    """`CREATE OR REPLACE FUNCTION log_signature …` from the rules (what schema.sql's writer applies)."""
    return f"CREATE OR REPLACE FUNCTION log_signature AS (message) -> {signature_expression('message')}"


# -- merging signatures into templates ---------------------------------------------------------------------


def _shape(token: str) -> str:
    """The token with every placeholder made the same (`/<ip>` and `/<path>` -> `/<*>`), an empty slot too."""
    return EMPTY_SLOTS.get(token) or PLACEHOLDER.sub(WILDCARD, token)


def _naming_word(token: str) -> bool:
    return token.strip("([{:;,'\"").lower() in NAMING_WORDS


def _candidates(shape: tuple[str, ...]) -> list[int]:
    """Positions holding the word after a naming word (`user <here>`, `class <here>`)."""
    return [
        position
        for position in range(1, len(shape))
        if _naming_word(shape[position - 1]) and shape[position] != WILDCARD and not _naming_word(shape[position])
    ]


def merge_signatures(signatures: Iterable[str]) -> dict[str, str]:
    """Each signature's template: signatures that are one template on the evidence share it.

    Deterministic and independent of order. A template shows a placeholder where its signatures agree on one
    (`<ip>`), and `<*>` where they differ in kind or in a name word.
    """
    shapes = {signature: tuple(_shape(token) for token in signature.split(" ")) for signature in set(signatures)}
    # Words after naming words are candidate variables. Signatures equal everywhere else form a group; a
    # candidate position becomes a variable when the group holds two or more values there.
    groups: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
    for shape in shapes.values():
        masked = list(shape)
        for position in _candidates(shape):
            masked[position] = WILDCARD
        groups[tuple(masked)].append(shape)
    keys: dict[tuple[str, ...], tuple[str, ...]] = {}
    for group in groups.values():
        for shape in group:
            key = list(shape)
            for position in _candidates(shape):
                if len({other[position] for other in group}) >= 2:
                    key[position] = WILDCARD
            keys[shape] = tuple(key)

    members: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for signature, shape in shapes.items():
        members[keys[shape]].append(signature)
    templates: dict[str, str] = {}
    for names in members.values():
        split = [name.split(" ") for name in sorted(names)]
        first = split[0]
        template = " ".join(
            first[i] if all(tokens[i] == first[i] for tokens in split) else WILDCARD for i in range(len(first))
        )
        for name in names:
            templates[name] = template
    return templates


def merge_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Lines per template, from lines per signature."""
    templates = merge_signatures(counts)
    merged: dict[str, int] = defaultdict(int)
    for signature, lines in counts.items():
        merged[templates[signature]] += lines
    return dict(merged)
