"""HTML to clean plain text, and links resolved against the document's base.

Records carry plain text: block elements become line breaks (paragraphs a blank line
apart), scripts/styles/forms disappear, whitespace is collapsed, entities decoded.
selectolax (lexbor) parses like a browser, so broken markup still gives text.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from newswire.common.text import clean_plain_text

BLOCK_TAGS = frozenset(
    "address article aside blockquote dd details div dl dt figcaption figure footer "
    "h1 h2 h3 h4 h5 h6 "
    "header hr li main ol p pre section summary table tbody td th thead tr ul".split()
)
DROP_TAGS = frozenset(
    "script style noscript template iframe svg form button select textarea object embed".split()
)
_SPACES = re.compile(r"[ \t\f\v\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def node_text(root: LexborNode) -> str:
    """Plain text of ``root``: blocks on their own lines, inline text joined."""
    parts: list[str] = []
    stack: list[tuple[LexborNode, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        if closing:
            parts.append("\n")
            continue
        if node.is_text_node:
            parts.append(node.text_content or "")
            continue
        tag = node.tag
        if tag in DROP_TAGS or node.is_comment_node:
            continue
        if tag == "br":
            parts.append("\n")
            continue
        if tag in BLOCK_TAGS:
            parts.append("\n")
            stack.append((node, True))
        children = list(node.iter(include_text=True))
        stack.extend((child, False) for child in reversed(children))
    return tidy("".join(parts))


def tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return clean_plain_text(_BLANK_LINES.sub("\n\n", "\n".join(lines)))


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment or document."""
    if "<" not in html and "&" not in html:
        return tidy(html)
    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    return node_text(root) if root is not None else ""


def document_base(tree: LexborHTMLParser, url: str) -> str:
    """The base URL links of a page resolve against: ``<base href>`` or the page URL."""
    base = tree.css_first("base[href]")
    href = base.attributes.get("href") if base is not None else None
    return urljoin(url, href.strip()) if href else url


def absolute(base: str, href: str | None) -> str | None:
    """``href`` resolved against ``base``; None for empty, fragment-only or script links."""
    if not href:
        return None
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    return urljoin(base, href)
