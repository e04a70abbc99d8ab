from hypothesis import given
from hypothesis import strategies as st

from newswire.common.ids import (
    article_id,
    article_id_for_text,
    content_hash,
    content_hash_of_forms,
)
from newswire.common.text import clean_plain_text, normalise_text


def test_arabic_variants_fold_together() -> None:
    plain = "قالت ايران ان الضربة استهدفت مقرا في اربيل"
    decorated = "قالَتْ إيرانُ إنَّ الضـــربة استهدفتْ مقرًا في أربيل"
    assert normalise_text(decorated) == normalise_text(plain)


def test_persian_and_arabic_letter_forms_fold() -> None:
    assert normalise_text("کردستان ی") == normalise_text("كردستان ي")


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise_text(text)
    assert normalise_text(once) == once


@given(st.text(min_size=1))
def test_text_id_ignores_whitespace_and_marks(text: str) -> None:
    assert article_id_for_text(text) == article_id_for_text(f"  {text}\n\n")


def test_url_ids_ignore_tracking_and_scheme() -> None:
    a = article_id("https://example.com/story?utm_source=x", "body")
    b = article_id("http://example.com/story", "other body")
    assert a == b and len(a) == 32


@given(st.text(max_size=50), st.text(min_size=1, max_size=200))
def test_content_hash_is_stable_and_sensitive(title: str, text: str) -> None:
    assert content_hash(title, text) == content_hash(title, text)
    if normalise_text(text + " extra") != normalise_text(text):
        assert content_hash(title, text) != content_hash(title, text + " extra")


def test_clean_plain_text() -> None:
    assert clean_plain_text("\ufeffline one  \r\nline two\r\n\r\n") == "line one\nline two"


# One normalisation per record in the enricher: the hash from ready-made forms must be
# the hash, byte for byte (content hashes are a contract with downstream consumers).


def test_content_hash_is_pinned() -> None:
    assert content_hash("Title", "Body  text") == "fed0ac241ed9372b68018dde8af1ad63"
    assert content_hash(None, "x") == content_hash("", "x")


@given(st.one_of(st.none(), st.text(max_size=50)), st.text(max_size=300))
def test_content_hash_of_forms_is_content_hash(title: str | None, text: str) -> None:
    forms = content_hash_of_forms(normalise_text(title or ""), normalise_text(text))
    assert forms == content_hash(title, text)
