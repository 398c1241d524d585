"""Markdown as teams write runbooks: front matter (YAML or TOML), headings at any level, HTML in the prose.

What a runbook folder holds in practice: Hugo and Jekyll pages (YAML `---` or TOML `+++` front matter, Hugo
shortcodes), Obsidian notes (YAML with `aliases`), files with no front matter at all, `<details>` blocks and
HTML comments, setext headings, fences indented inside lists or by tabs, Docsy shortcodes that carry words
(`{{<glossary_tooltip text="kubectl" ...>}}`, `## {{% heading "whatsnext" %}}`). This module turns one such text into
its front matter, its title heading and its sections; `corpus` decides what they mean.

Code is never touched: fenced blocks and inline code spans keep their `<placeholders>` and HTML verbatim.
"""

from __future__ import annotations

import html
import re
import tomllib
from dataclasses import dataclass
from typing import Any

import yaml

SPLIT_ABOVE = 2400
"""A section longer than this (characters) is split again at its own subheadings, when it has any: the embedding
model reads 256 tokens (about 1000 characters), so a long section's tail would otherwise be invisible to it."""

PREAMBLE = "Overview"
"""The heading given to the text before a runbook's first section heading."""

HEADING_JOINER = " › "
"""Between a parent heading and a subheading when a long section is split ("Mitigation › Data retention")."""

_YAML_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_TOML_FRONT_MATTER = re.compile(r"\A\+\+\+[ \t]*\r?\n(.*?\r?\n)?\+\+\+[ \t]*(?:\r?\n|\Z)", re.S)
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_ATX_CLOSING = re.compile(r"[ \t]+#+$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_BLOCK_START = re.compile(r"^\s*([-*+>|]|\d+[.)]\s|#)")
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_SHORTCODE = re.compile(r"\{\{[<%].*?[%>]\}\}", re.S)
_SHORTCODE_TEXT = re.compile(r"""\btext\s*=\s*(?:"([^"]*)"|'([^']*)')""")
# A heading whose only text is a shortcode with a quoted argument (Docsy: `## {{% heading "whatsnext" %}}`).
_SHORTCODE_HEADING = re.compile(r"""^( {0,3}#{1,6}[ \t]+)\{\{[<%]\s*[\w./-]+\s+"([^"]+)"[^\n]*?[%>]\}\}[ \t]*$""", re.M)
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_BLANK_RUNS = re.compile(r"\n{3,}")

# HTML elements that appear in Markdown runbooks. Only these are stripped: `<pod-name>`, `<namespace>` and other
# placeholders in prose are text, not tags.
_ELEMENTS = (
    "a|abbr|b|big|blockquote|br|center|cite|code|dd|del|details|div|dl|dt|em|figcaption|figure|font|h[1-6]|hr|i|"
    "img|ins|kbd|li|mark|ol|p|picture|pre|q|s|samp|small|source|span|strike|strong|sub|summary|sup|table|tbody|"
    "td|tfoot|th|thead|tr|tt|u|ul|var|video|iframe|input|label|section|article|aside|nav|header|footer|main"
)
_LINE_BREAK = re.compile(r"<br\s*/?>", re.I)
_ATTRIBUTES = r"""(?=[\s/>])(?:[^<>"']|"[^"]*"|'[^']*')*>"""  # after the element's name: none, or attributes
_BLOCK_TAG = re.compile(
    r"</?(?:details|summary|div|p|table|tr|ul|ol|li|h[1-6]|pre|blockquote|dl|dt|dd|hr)" + _ATTRIBUTES, re.I
)
_TAG = re.compile(rf"</?(?:{_ELEMENTS})" + _ATTRIBUTES, re.I)


class FrontMatterError(ValueError):
    """The front matter block is there but is not valid YAML or TOML, or not a mapping."""


@dataclass(frozen=True)
class Heading:
    """A heading line outside code: its level (1-6), its text and its line number in the body."""

    line: int
    level: int
    text: str


@dataclass(frozen=True)
class RawSection:
    """A section before it gets an id: its heading (or `PREAMBLE`) and its text."""

    heading: str
    text: str


def split_front_matter(text: str) -> tuple[dict[str, Any], str, str]:
    """(front matter, the front matter block as written, the body after it); ({}, "", text) without one.

    Raises `FrontMatterError` when a block is there but cannot be read.
    """
    text = text.removeprefix("\ufeff")
    for pattern, parse, kind in (
        (_YAML_FRONT_MATTER, yaml.safe_load, "YAML"),
        (_TOML_FRONT_MATTER, tomllib.loads, "TOML"),
    ):
        match = pattern.match(text)
        if match is None:
            continue
        try:
            data = parse(match.group(1) or "")
        except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
            reason = " ".join(str(exc).split())[:200]
            raise FrontMatterError(f"the front matter is not valid {kind}: {reason}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise FrontMatterError(f"the front matter must be a {kind} mapping (key: value lines)")
        return data, match.group(0), text[match.end() :]
    return {}, "", text


def to_text(markdown: str) -> str:
    """The Markdown with HTML reduced to its text: comments and Hugo shortcodes removed, `<details>`,
    `<summary>` and other elements unwrapped (block elements leave a line break), entities decoded.

    Fenced code blocks and inline code spans are kept exactly as written.
    """
    out: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines():
        marker = _FENCE.match(line)
        if fence is None and marker:
            out.append(_prose_to_text("\n".join(prose)))
            prose = []
            fence = marker.group(1)[0] * 3
            out.append(line)
        elif fence is not None:
            out.append(line)
            if marker and marker.group(1).startswith(fence):
                fence = None
        else:
            prose.append(line)
    out.append(_prose_to_text("\n".join(prose)))
    text = "\n".join(part for part in out if part is not None)
    return _BLANK_RUNS.sub("\n\n", text).strip()


def headings(body: str) -> list[Heading]:
    """The ATX (`## Title`) and setext (`Title` over `===`/`---`) headings outside fenced code."""
    lines = body.splitlines()
    found: list[Heading] = []
    in_fence = False
    for number, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        atx = _ATX.match(line)
        if atx:
            text = _ATX_CLOSING.sub("", atx.group(2) or "").strip()
            if text:
                found.append(Heading(number, len(atx.group(1)), text))
            continue
        setext = _SETEXT.match(line)
        if setext and number > 0 and _is_setext_title(lines, number, found):
            found.append(Heading(number - 1, 1 if setext.group(1)[0] == "=" else 2, lines[number - 1].strip()))
    return found


def split_sections(body: str, *, split_above: int = SPLIT_ABOVE) -> tuple[str | None, list[RawSection]]:
    """(the title heading, the sections) of a body that `to_text` has cleaned.

    The title is a lone level-1 heading at the top. Sections start at the shallowest heading level below it
    (`##` in most runbooks, `###` in some, `#` where every section is a level-1 heading); text before the first
    one is the `PREAMBLE` section; a section longer than `split_above` is split again at its subheadings.
    Sections without text are dropped.
    """
    lines = body.splitlines()
    found = headings(body)
    title: str | None = None
    level_one = [h for h in found if h.level == 1]
    if level_one and len(level_one) == 1 and found[0] is level_one[0]:
        title = level_one[0].text
        body_start = _end_of(level_one[0], lines)
        lines = [""] * body_start + lines[body_start:]  # blanked, not cut: heading line numbers stay right
        found = found[1:]
    sections = _split(lines, found, 0, len(lines), (), split_above)
    return title, [s for s in sections if s.text]


def _split(
    lines: list[str], found: list[Heading], start: int, end: int, parents: tuple[str, ...], split_above: int
) -> list[RawSection]:
    inside = [h for h in found if start <= h.line < end]
    if not inside:
        return [RawSection(_join(parents) or PREAMBLE, _text(lines, start, end))]
    level = min(h.level for h in inside)
    cuts = [h for h in inside if h.level == level]
    sections: list[RawSection] = []
    intro = _text(lines, start, cuts[0].line)
    if intro:
        sections.append(RawSection(_join(parents) or PREAMBLE, intro))
    for index, heading in enumerate(cuts):
        stop = cuts[index + 1].line if index + 1 < len(cuts) else end
        first = _end_of(heading, lines)
        text = _text(lines, first, stop)
        deeper = [h for h in inside if first <= h.line < stop]
        if len(text) > split_above and deeper:
            sections += _split(lines, deeper, first, stop, (*parents, heading.text), split_above)
        else:
            sections.append(RawSection(_join((*parents, heading.text)), text))
    return sections


def _end_of(heading: Heading, lines: list[str]) -> int:
    """The first line after a heading (a setext heading spans its text line and its underline)."""
    following = heading.line + 1
    if following < len(lines) and _SETEXT.match(lines[following]) and not _ATX.match(lines[heading.line]):
        return following + 1
    return following


def _is_setext_title(lines: list[str], number: int, found: list[Heading]) -> bool:
    previous = lines[number - 1]
    if not previous.strip() or _BLOCK_START.match(previous) or _FENCE.match(previous):
        return False
    if found and found[-1].line == number - 1:
        return False  # the line above is a heading already
    return number < 2 or not lines[number - 2].strip()  # a one-line paragraph: a title, not a table rule


def _text(lines: list[str], start: int, end: int) -> str:
    return "\n".join(lines[start:end]).strip()


def _join(parts: tuple[str, ...]) -> str:
    return HEADING_JOINER.join(parts)


def _prose_to_text(prose: str) -> str:
    if not prose:
        return ""
    prose = _COMMENT.sub("", prose)
    prose = _SHORTCODE_HEADING.sub(r"\1\2", prose)
    prose = _SHORTCODE.sub(_shortcode_words, prose)
    pieces: list[str] = []
    cursor = 0
    for code in _INLINE_CODE.finditer(prose):
        pieces.append(_html_to_text(prose[cursor : code.start()]))
        pieces.append(code.group(0))
        cursor = code.end()
    pieces.append(_html_to_text(prose[cursor:]))
    return "\n".join(line.rstrip() for line in "".join(pieces).split("\n"))


def _shortcode_words(shortcode: re.Match[str]) -> str:
    """What a Hugo shortcode leaves in the text: the words it shows (`{{<glossary_tooltip text="Pods" ...>}}` is
    "Pods"), else nothing (`{{< note >}}` and its closing tag go, the text between them stays)."""
    shown = _SHORTCODE_TEXT.search(shortcode.group(0))
    return (shown.group(1) if shown.group(1) is not None else shown.group(2)) if shown else ""


def _html_to_text(text: str) -> str:
    text = _LINE_BREAK.sub("\n", text)
    text = _BLOCK_TAG.sub("\n", text)
    text = _TAG.sub("", text)
    return html.unescape(text) if "&" in text else text
