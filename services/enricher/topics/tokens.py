"""Article text as the classifier sees it: comparison forms, word tokens, zones.

Matching works on a comparison form of the text (:func:`newswire.common.text.normalise_text`:
case, Arabic letter variants and heh shapes, diacritics, tatweel, ZWNJ, Arabic-Indic and
Persian digits, Turkish dotted I folded; here also invisible format characters, the Arabic
decimal and thousands separators and Turkish dotless i) split into word tokens. Both
sides go through the same functions: :func:`tokenise` and :func:`phrase_words` for the
taxonomy's phrases, :func:`document_tokens` for an article, so a phrase an operator
writes always tokenises the way the same words in an article do.

An article's tokens carry what scoring and relations need besides the word: the
sentence and clause they are in (phrases and relations never cross a sentence; marker
scans stop at a clause break) and the zone (title, lead, body) that weighs a mention.
"""

# ruff: noqa: RUF001, RUF003 - Arabic-script letters are this module's subject matter.

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum

from newswire.common.text import normalise_text

#: The language of the taxonomy's fallback section, and of text with no rules of its own.
FALLBACK = "*"


class Zone(IntEnum):
    """Where in the article a token stands; a mention weighs more the earlier it is."""

    TITLE = 0
    LEAD = 1
    BODY = 2


@dataclass(slots=True)  # not frozen: built by the hundred per article, never shared
class Token:
    """One word of an article, with what scoring and relations need to know about it."""

    form: str  # normalised
    sentence: int  # running sentence number; phrases and relations stay inside one
    zone: Zone
    clause: int = 0  # running clause number (commas, colons, brackets also end one)


# A word, a sentence stop, or a clause break (a comma not inside a number like 1,300).
_WORD_OR_STOP = re.compile(r"\w+|[.!?؟۔](?=\s|$)|,(?!\d)|[،؛;:()\[\]—–]")
_STOPS = frozenset(".!?؟۔")
_BREAK = ""  # clause break marker in token streams; None marks a sentence end
_POSSESSIVE = re.compile(r"(?<=\w)['’ʼ]s\b")
_US_ABBREVIATION = re.compile(r"\bu\.\s?s\.(?:\s?a\.)?")
# Persian plural/ezafe suffixes that writers separate with a space instead of a ZWNJ.
_DETACHED_SUFFIXES = frozenset(normalise_text(s) for s in ("ها", "های", "هایی"))
# Persian «از سوی» / «از جانب» (by, of a passive's agent) are one word, «توسط», to the
# relation rules: otherwise «سوی» reads as the target marker of «به سوی» (toward) and
# «اسرائیل از سوی ایران هدف قرار گرفت» turns round. Folded in article and taxonomy alike.
_FA_AGENT_PAIRS = frozenset(normalise_text(s) for s in ("سوی", "جانب"))
_FA_FROM = normalise_text("از")
_FA_BY = normalise_text("توسط")
# Latin-script languages compared without accents, article and taxonomy alike.
_ACCENT_FOLDED = frozenset({"kmr"})
# "a … b" / "a ... b" in a taxonomy phrase: up to GAP_TOKENS other words between a and b.
GAP_TOKENS = 4
GAP = "\u2026"  # the token that stands for a gap inside a compiled phrase
_GAP_SPLIT = re.compile(r"\s*(?:\.\.\.|\u2026)\s*")


# Folded before :func:`normalise_text` (which already folds the heh shapes, deletes
# ZWNJ and the other zero-width marks, maps Arabic-Indic and Persian digits and repairs
# Turkish İ): the Arabic decimal/thousands separators, and invisible format characters
# that would otherwise split a word in two (zero-width space, soft hyphen, Arabic letter
# mark, word joiner).
_PREPARE_FOLDS = {
    "\u066b": ".",
    "\u066c": ",",
    "\u200b": "",
    "\u00ad": "",
    "\u061c": "",
    "\u2060": "",
}
# str.translate looks every character up in a dict; a regex finds the few that fold.
_PREPARE_PATTERN = re.compile("[" + "".join(_PREPARE_FOLDS) + "]")


def _comparison_form(text: str) -> str:
    """The text as matching compares it; taxonomy phrases go through the same folds.

    Not the form the enricher's pipeline makes once for the content hash and the
    near-duplicate fingerprint (``normalise_text`` of the whole body), and it cannot be
    derived from it, on purpose:

    * the folds in ``_PREPARE_FOLDS`` run *before* ``normalise_text``: a zero-width
      space or soft hyphen between two spaces must vanish before the spaces collapse
      (``"a \u200b b"`` is ``"a b"`` here, ``"a  b"`` the other way round);
    * the dotless i (U+0131), "U.S." and possessive folds happen here only: added to the shared
      form they would change every content hash, a contract with downstream consumers;
    * the classifier needs the line structure (paragraphs end sentences and make the
      lead) which ``normalise_text`` collapses, and reads only the first
      ``max_classified_chars`` of the body.

    So the body is normalised twice per record (about 16 µs per article in the seeds
    and fixtures, see NOTES-contract.md), once for identity and once for matching.
    """
    text = normalise_text(_PREPARE_PATTERN.sub(lambda m: _PREPARE_FOLDS[m.group()], text))
    # Turkish dotless ı is the same letter for us (a writer may type «ırak» for «IRAK»).
    if "ı" in text:
        text = text.replace("ı", "i")
    if "u." in text:
        text = _US_ABBREVIATION.sub("us", text)  # "U.S." would otherwise be the tokens u, s
    if "'" in text or "’" in text or "ʼ" in text:
        text = _POSSESSIVE.sub("", text)
    return text


def _paragraph_tokens(paragraph: str, language: str) -> Iterator[str | None]:
    """Word tokens of one paragraph; None marks a sentence end, ``_BREAK`` a clause end."""
    return _form_tokens(_comparison_form(paragraph), language)


# Kurmanji «jî» ("also, too") folded would be «ji» ("from"), the source marker that
# makes the next place a launch site («Pakistanê jî Sîstan kir hedef»): it keeps a form
# of its own. Written without its accent it stays ambiguous.
_KMR_TOO = re.compile(r"(?<!\w)jî(?!\w)")
_KMR_TOO_FORM = "jii"


def _fold_latin_marks(form: str) -> str:
    """Latin letters without their accents (ê -> e, î -> i, ş -> s): Kurmanji writers
    and keyboards drop them as often as they type them («Iraq», «Îraq»)."""
    if form.isascii():
        return form
    return "".join(c for c in unicodedata.normalize("NFD", form) if not unicodedata.combining(c))


def _form_tokens(form: str, language: str) -> Iterator[str | None]:
    """Word tokens of a paragraph's comparison form (see :func:`_paragraph_tokens`)."""
    if language in _ACCENT_FOLDED:
        form = _fold_latin_marks(_KMR_TOO.sub(_KMR_TOO_FORM, form))
    previous: str | None = None
    for match in _WORD_OR_STOP.finditer(form):
        word = match.group()
        if word[0] in _STOPS or not (word[0].isalnum() or word[0] == "_"):
            if previous is not None:
                yield previous
            yield None if word in _STOPS else _BREAK
            previous = None
        elif previous is not None and word in _DETACHED_SUFFIXES and language == "fa":
            previous += word  # «نیرو های» -> «نیروهای»
        elif previous == _FA_FROM and word in _FA_AGENT_PAIRS and language == "fa":
            previous = _FA_BY  # «از سوی» -> «توسط»
        else:
            if previous is not None:
                yield previous
            previous = word
    if previous is not None:
        yield previous


def tokenise(text: str, language: str = FALLBACK) -> list[str]:
    """The normalised word tokens of ``text`` as the classifier sees them."""
    return [
        word
        for paragraph in text.splitlines()
        for word in _paragraph_tokens(paragraph, language)
        if word  # neither a sentence end (None) nor a clause break ("")
    ]


def phrase_words(phrase: str, language: str) -> tuple[str, ...]:
    """A taxonomy phrase as compiled: its tokens, with :data:`GAP` where it says ``…``."""
    words: list[str] = []
    for i, part in enumerate(p for p in _GAP_SPLIT.split(phrase)):
        part_words = tokenise(part, language)
        if not part_words:
            continue
        if i and words:
            words.append(GAP)
        words.extend(part_words)
    return tuple(words)


@dataclass(frozen=True, slots=True)
class LeadPolicy:
    """Where the lead ends, and how short an untitled first paragraph must be to count
    as a headline (from the taxonomy's ``scoring`` section)."""

    sentences: int
    chars: int
    headline_chars: int


# Stands for a line break while a whole text is normalised in one call: not a space
# (normalise_text would collapse it) and not a word character.
_PARAGRAPH = "\ue000"


def _comparison_paragraphs(text: str) -> list[str]:
    """The comparison forms of the text's lines, normalised in one call."""
    if _PARAGRAPH in text:
        text = text.replace(_PARAGRAPH, " ")
    joined = _PARAGRAPH.join(text.splitlines())
    return [p.strip() for p in _comparison_form(joined).split(_PARAGRAPH)]


def _untitled_headline(
    paragraphs: Sequence[str], language: str, lead: LeadPolicy
) -> tuple[int, list[str | None]] | None:
    """Index and tokens of the first non-empty paragraph (comparison forms) if it reads
    as a headline: one sentence, at most ``headline_chars`` characters. Feeds often send
    a headline as the text."""
    for i, paragraph in enumerate(paragraphs):
        if not paragraph:
            continue
        if len(paragraph) > lead.headline_chars:
            return None
        items = list(_form_tokens(paragraph, language))
        end = len(items)
        while end and items[end - 1] is None:
            end -= 1
        return (i, items) if end and None not in items[:end] else None
    return None


def document_tokens(title: str | None, text: str, language: str, lead: LeadPolicy) -> list[Token]:
    """Title and text as one token list with sentence/clause numbers and zones.

    Paragraph breaks end sentences: headlines inside the body often carry no full
    stop. The lead is the first ``lead.sentences`` sentences of the text, cut at
    ``lead.chars`` characters of the comparison form. Without a title, a first
    paragraph that reads as a headline is the title.
    """
    paragraphs = _comparison_paragraphs(text)
    heading: Iterable[str | None] = ()
    if title and title.strip():
        heading = _paragraph_tokens(title.replace("\n", " "), language)
    elif lead.headline_chars and (head := _untitled_headline(paragraphs, language, lead)):
        index, heading = head
        paragraphs = paragraphs[index + 1 :]
    tokens: list[Token] = []
    sentence, clause = _add_title(heading, tokens)
    _add_text(paragraphs, language, lead, tokens, sentence, clause)
    return tokens


def _add_title(heading: Iterable[str | None], tokens: list[Token]) -> tuple[int, int]:
    """Append the title's tokens; return the sentence and clause numbers the text
    starts at (a title is its own sentence and clause, whatever its punctuation)."""
    sentence = clause = 0
    open_sentence = False
    for word in heading:
        if word:
            tokens.append(Token(word, sentence, Zone.TITLE, clause))
            open_sentence = True
        else:  # a clause break, or a sentence end (rare in a title)
            if word is None:
                sentence, open_sentence = sentence + open_sentence, False
            clause += 1
    return sentence + open_sentence, clause + 1


def _add_text(
    paragraphs: Iterable[str],
    language: str,
    lead: LeadPolicy,
    tokens: list[Token],
    sentence: int,
    clause: int,
) -> None:
    """Append the text's tokens, numbering on from the title's; the first sentences,
    up to the lead's size, are the lead zone."""
    text_start, chars, open_sentence = sentence, 0, False
    for paragraph in paragraphs:
        for word in _form_tokens(paragraph, language):
            if word is None:
                sentence, open_sentence = sentence + open_sentence, False
                clause += 1
                continue
            if word == _BREAK:
                clause += 1
                continue
            in_lead = sentence - text_start < lead.sentences and chars < lead.chars
            tokens.append(Token(word, sentence, Zone.LEAD if in_lead else Zone.BODY, clause))
            chars += len(word) + 1
            open_sentence = True
        sentence, open_sentence = sentence + open_sentence, False
        clause += 1
