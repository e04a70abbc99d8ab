"""WordPress REST API posts (``/wp-json/wp/v2/posts``): JSON arrays, paged.

The API is the best source a WordPress site offers: full content, GMT dates, stable
ids (``guid.rendered``, e.g. ``https://site/?p=123``), and ``X-WP-TotalPages`` for paging.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.parse.dates import parse_date
from newswire.fetcher.parse.htmltext import html_to_text
from newswire.fetcher.parse.jsonfeed import load_json
from newswire.fetcher.parse.model import DocFormat, Document, Entry

POSTS_PATH = "wp-json/wp/v2/posts"
PER_PAGE = 20
_FIELDS = "id,guid,link,title,content,excerpt,date_gmt,modified_gmt,lang"


def posts_url(site_url: str, page: int, per_page: int = PER_PAGE) -> str:
    """The posts endpoint of a site (the source URL is the site root, or the endpoint itself)."""
    parts = urlsplit(site_url)
    base = (
        site_url
        if parts.path.rstrip("/").endswith("wp/v2/posts")
        else urljoin(
            urlunsplit(
                (
                    parts.scheme,
                    parts.netloc,
                    parts.path if parts.path.endswith("/") else parts.path + "/",
                    "",
                    "",
                )
            ),
            POSTS_PATH,
        )
    )
    query = urlencode(
        {"per_page": per_page, "page": page, "orderby": "date", "order": "desc", "_fields": _FIELDS}
    )
    return f"{base.split('?', 1)[0]}?{query}"


def parse_wordpress_posts(text: str, *, base_url: str) -> Document:
    posts = load_json(text)
    if not isinstance(posts, list):
        detail = posts.get("message") if isinstance(posts, dict) else None
        raise FetchError(
            FetchErrorKind.UNSUPPORTED,
            f"not a WordPress posts list{f': {detail}' if detail else ''}",
        )
    return Document(
        format=DocFormat.WORDPRESS,
        entries=[_entry(p, base_url) for p in posts if isinstance(p, dict)],
    )


def _rendered(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("rendered")
    return value if isinstance(value, str) else ""


def _entry(post: dict[str, Any], base_url: str) -> Entry:
    content, excerpt = _rendered(post.get("content")), _rendered(post.get("excerpt"))
    link = post.get("link") if isinstance(post.get("link"), str) else None
    guid = _rendered(post.get("guid")) or (f"wp:{post['id']}" if "id" in post else "")
    date = post.get("date_gmt") if isinstance(post.get("date_gmt"), str) else None
    return Entry(
        guid=guid or None,
        link=urljoin(base_url, link) if link else None,
        title=" ".join(html_to_text(_rendered(post.get("title"))).split()) or None,
        text=html_to_text(content or excerpt),
        published_at=parse_date(f"{date}Z" if date and not date.endswith("Z") else date),
        language=post.get("lang") if isinstance(post.get("lang"), str) else None,
        summary_only=not content,
    )


def total_pages(headers: Any) -> int | None:
    value = str(headers.get("x-wp-totalpages", "")).strip()
    return int(value) if value.isdigit() else None
