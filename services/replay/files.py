"""Seed files -> raw article records. Pure: no Kafka, no clock beyond ``fetched_at``.

Two formats exist because seeds come from two places: people drop in plain ``.txt``
articles (one per file), and tools export raw records as ``.jsonl``. A file that
cannot be read at all raises :class:`SeedFileError` so the caller can report it and
carry on with the rest; a single bad ``.jsonl`` line (or a ``.txt`` article the schema
refuses) becomes a :class:`LineFailure` for the dead-letter topic, so one typo never
costs the other lines of the file.
"""

from __future__ import annotations

import codecs
import logging
import stat
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newswire.common.contract import RawArticle
from newswire.common.encoding_guess import guess_encoding
from newswire.common.errors import ErrorKind, InvalidRecord, SeedFileError
from newswire.common.records import raw_article
from newswire.common.schemas import SchemaName, decode_json_object, validate
from newswire.common.text import clean_plain_text, has_control_chars, strip_control_chars

log = logging.getLogger(__name__)

TEXT_SUFFIX = ".txt"
JSONL_SUFFIX = ".jsonl"
SEED_SUFFIXES = (TEXT_SUFFIX, JSONL_SUFFIX)

#: A first line longer than this is a paragraph, not a headline.
MAX_HEADLINE_CHARS = 200
#: Closing quotes/brackets looked through when checking how a line ends.
_CLOSERS = "\"'\u201d\u2019\u00bb\u203a)]}"  # curly quotes, guillemets
#: A line ending in one of these is a sentence (or runs on), so it is not a headline.
_NOT_HEADLINE_ENDINGS = frozenset(
    ".!?,;:"
    "\u2026\u3002\uff01\uff1f"  # ellipsis, CJK full stop, fullwidth ! and ?
    "\u061f\u06d4\u060c\u061b"  # Arabic-script question mark, full stop, comma, semicolon
)


@dataclass(frozen=True, slots=True)
class SeedRecord:
    """A schema-valid raw record and where in the seed set it came from."""

    record: RawArticle
    file: str
    line: int | None = None  # None for a .txt article: the whole file is the record

    @property
    def article_id(self) -> str:
        return str(self.record["id"])


@dataclass(frozen=True, slots=True)
class LineFailure:
    """A seed record that cannot be a raw record on the topic: a ``.jsonl`` line or a
    ``.txt`` article the schema refuses, or one over the message limit. It goes to the
    dead-letter topic."""

    file: str
    #: 1-based, counting blank lines, so it matches an editor's line number; 1 for a .txt
    line: int
    #: the line exactly as in the file, without its line terminator (a .txt: the file);
    #: for a record over the message limit, the record as it was to be sent
    payload: bytes
    error: InvalidRecord

    @property
    def origin(self) -> dict[str, Any]:
        """The dead letter's ``origin``: enough to find the line again."""
        return {"file": self.file, "line": self.line}


@dataclass(frozen=True, slots=True)
class SeedFile:
    """Everything one seed file yields: valid records and per-line failures."""

    path: Path
    records: tuple[SeedRecord, ...]
    failures: tuple[LineFailure, ...] = ()

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True, slots=True)
class SeedPaths:
    """The files a list of PATH arguments stands for, the arguments (or subfolders) that
    stand for none, and the files found in folders that are not seeds."""

    files: list[Path]
    errors: list[SeedFileError]
    #: Files under a folder argument that are neither .txt nor .jsonl: passed over, and
    #: told to the user (a README or a .csv next to the seeds is no error).
    ignored: list[Path] = field(default_factory=list)
    #: Each file's name in records and dead letters (``source.ref``, ``origin.file``):
    #: its path relative to the folder argument it was found under, so ``a/x.txt`` and
    #: ``b/x.txt`` stay apart, prefixed by the folder's name when several folders are
    #: replayed at once (``seeds/x.txt``, ``more/x.txt``); a file named directly keeps
    #: its base name unless another file has it (then: as given).
    refs: dict[Path, str] = field(default_factory=dict)


# --- paths -------------------------------------------------------------------------


def expand_seed_paths(paths: Iterable[Path]) -> SeedPaths:
    """Directories become the ``.txt``/``.jsonl`` files in them and their subfolders
    (sorted by name at each level, so every run replays in the same order; hidden
    entries, ``.git`` or ``.DS_Store``, are left out; symlinked folders are followed once
    each, so a link loop cannot recurse). Other files in a folder are listed as ``ignored``;
    paths named directly pass through untouched so :func:`read_seed_file` can say what
    is wrong with them. A file named twice (directly and via its folder) is replayed once.
    Each file's ref (:attr:`SeedPaths.refs`) names it unambiguously: :func:`seed_ref`.
    """
    arguments = list(paths)
    prefixes = folder_prefixes(arguments)
    found = SeedPaths([], [])
    seen: set[Path] = set()
    named: list[Path] = []  # files named directly: their base name unless it is taken
    for path in arguments:
        candidates = _directory_seeds(path, found) if path.is_dir() else [path]
        for candidate in candidates:
            identity = candidate.resolve()
            if identity not in seen:
                seen.add(identity)
                found.files.append(candidate)
                found.refs[candidate] = seed_ref(candidate, path, prefixes.get(path, ""))
                if candidate == path:
                    named.append(candidate)
    _tell_apart(found.refs, named)
    return found


def folder_prefixes(arguments: list[Path]) -> dict[Path, str]:
    """With more than one folder argument, what each folder's refs start with: its name
    (``seeds/x.txt``, ``more/x.txt``), or the folder as given when another folder
    argument has the same name (``a/seeds``, ``b/seeds``). One folder: no prefix."""
    folders = list(dict.fromkeys(p for p in arguments if p.is_dir()))
    if len(folders) < 2:
        return {}
    names = Counter(_folder_name(p) for p in folders)
    return {p: _folder_name(p) if names[_folder_name(p)] == 1 else p.as_posix() for p in folders}


def _folder_name(folder: Path) -> str:
    """A folder's own name, also for ``.`` or ``/`` (whose ``name`` is empty)."""
    return folder.name or folder.resolve().name or folder.as_posix()


def _tell_apart(refs: dict[Path, str], named: list[Path]) -> None:
    """A file named directly whose base name a file found in a folder, or one named
    before it, already has is named as given on the command line instead (its
    absolute path if even that is taken)."""
    direct = set(named)
    taken = {ref for path, ref in refs.items() if path not in direct}
    for file in named:
        if refs[file] in taken:
            given = file.as_posix()
            refs[file] = given if given not in taken else str(file.resolve())
        taken.add(refs[file])


def seed_ref(file: Path, argument: Path, prefix: str = "") -> str:
    """``file``'s name in records: relative to the folder ``argument`` it was found in
    (POSIX separators), after PREFIX (:func:`folder_prefixes`), or its base name when
    it was the argument itself."""
    if file == argument:
        return file.name
    relative = file.relative_to(argument).as_posix()
    return f"{prefix}/{relative}" if prefix else relative


def check_seeds(seeds: Path, found: SeedPaths | None = None) -> str | None:
    """What is wrong with SEEDS as ``--seeds`` or a replay PATH (None: usable), before
    anything starts. FOUND is the expansion of the arguments SEEDS is one of (made here
    when not given): the caller walks each folder once, and replays what it checked."""
    if not seeds.exists():
        return f"{seeds}: no such file or directory"
    if seeds.is_dir():
        # Only what is wrong with the argument itself (a folder with no seeds, or one
        # that cannot be listed); a subfolder that cannot be listed is said as the
        # seeds are replayed (``skipped``, exit 1), like an unreadable file.
        found = found if found is not None else expand_seed_paths([seeds])
        errors = [e for e in found.errors if e.path == str(seeds)]
        if errors:
            return str(errors[0])
    elif seeds.suffix.lower() not in SEED_SUFFIXES:
        # A named file that can never be a seed, whatever it holds: the argument is
        # wrong, so it is said before Kafka is waited for, not after, as a failed seed.
        return (
            f"{seeds}: unknown extension {seeds.suffix or '(none)'!r}: seed files are .txt "
            "(one article) or .jsonl (raw records, one per line)"
        )
    return None


def _directory_seeds(directory: Path, found: SeedPaths) -> list[Path]:
    """The seed files under ``directory``; an error on ``found`` when there are none."""
    seeds: list[Path] = []
    ignored_before, errors_before = len(found.ignored), len(found.errors)
    for entry in _walk(directory, found.errors, {directory.resolve()}):
        if entry.suffix.lower() in SEED_SUFFIXES:
            seeds.append(entry)
        else:
            found.ignored.append(entry)
    # A folder that could not be listed is said once, by the walk, not again as empty.
    if not seeds and len(found.errors) == errors_before:
        others = found.ignored[ignored_before:]
        found.ignored[ignored_before:] = []
        found.errors.append(SeedFileError(str(directory), _no_seeds_reason(others)))
    return seeds


def _walk(directory: Path, errors: list[SeedFileError], visited: set[Path]) -> Iterable[Path]:
    """Regular files under ``directory``, depth first, sorted by name at each level; a
    folder reached twice (a symlink back up the tree, or two links to one folder) is
    walked once."""
    try:
        entries = sorted(directory.iterdir())
    except OSError as exc:
        reason = f"cannot list directory: {exc.strerror or exc}"
        errors.append(SeedFileError(str(directory), reason))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            identity = entry.resolve()
            if identity not in visited:
                visited.add(identity)
                yield from _walk(entry, errors, visited)
        elif entry.is_file():
            yield entry


def _no_seeds_reason(others: list[Path]) -> str:
    reason = "directory holds no .txt or .jsonl seed files (subfolders included)"
    if not others:
        return reason
    names = ", ".join(p.name for p in others[:3]) + (", ..." if len(others) > 3 else "")
    return f"{reason}; {len(others)} other file{'s' if len(others) != 1 else ''}: {names}"


# --- files -------------------------------------------------------------------------


def read_seed_file(path: Path, *, max_bytes: int, ref: str | None = None) -> SeedFile:
    """Read one seed file, choosing the format by extension. ``ref`` names it in its
    records and dead letters (default: its base name; see :attr:`SeedPaths.refs`).

    Raises :class:`SeedFileError` for a file that yields nothing usable: missing, a
    directory, unknown extension, empty, over ``max_bytes``, a ``.txt`` that is not
    UTF-8 or has no text, a ``.jsonl`` with no non-blank line.
    """
    suffix = _seed_suffix(path)
    data = _read_bytes(path, max_bytes=max_bytes)
    ref = ref or path.name
    if suffix == TEXT_SUFFIX:
        return _text_seed(path, data, ref)
    records, failures = parse_jsonl(data, ref)
    if not records and not failures:
        raise SeedFileError(str(path), "no records: every line is blank")
    return SeedFile(path, tuple(records), tuple(failures))


def _seed_suffix(path: Path) -> str:
    _require_regular_file(path)
    suffix = path.suffix.lower()
    if suffix not in SEED_SUFFIXES:
        raise SeedFileError(
            str(path),
            f"unknown extension {path.suffix or '(none)'!r}: seed files are .txt (one article) "
            "or .jsonl (raw records, one per line)",
        )
    return suffix


def _require_regular_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise SeedFileError(str(path), "no such file") from exc
    except OSError as exc:
        raise SeedFileError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(mode):
        raise SeedFileError(str(path), "is a directory, not a seed file")
    if not stat.S_ISREG(mode):
        raise SeedFileError(str(path), "not a regular file")


def _read_bytes(path: Path, *, max_bytes: int) -> bytes:
    """Read at most ``max_bytes + 1`` bytes, so a file that grows while we read it (or
    whose size ``stat`` got wrong) still cannot exhaust memory."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_large(path, size, max_bytes)
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SeedFileError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise _too_large(path, len(data), max_bytes)
    if not data:
        raise SeedFileError(str(path), "empty file")
    return data


def _too_large(path: Path, size: int, max_bytes: int) -> SeedFileError:
    return SeedFileError(
        str(path), f"{size} bytes exceeds the {max_bytes}-byte limit (REPLAY_MAX_FILE_BYTES)"
    )


# --- .txt --------------------------------------------------------------------------


def _text_seed(path: Path, data: bytes, ref: str) -> SeedFile:
    """A .txt file's one article, or the failure the dead-letter topic gets for it (e.g.
    text beyond the schema's length limit), the file's bytes as its payload, at line 1:
    the one treatment every seed record the contract refuses gets, .txt or .jsonl."""
    try:
        record = text_article(path, data, ref=ref)
    except InvalidRecord as error:
        return SeedFile(path, (), (LineFailure(ref, 1, data, error),))
    return SeedFile(path, (SeedRecord(record, ref),))


def text_article(path: Path, data: bytes, *, ref: str | None = None) -> RawArticle:
    """One plain-text article -> a raw record (no URL, so the id comes from the text).

    The record is validated here, once, not again when published: one the schema
    cannot take (e.g. text beyond its length limit) raises :class:`InvalidRecord`,
    which the caller dead-letters. A file that is no text at all (not UTF-8, nothing
    but whitespace) is a :class:`SeedFileError`. Control characters other than tab and
    line breaks (NUL, ESC ...) are removed; a file of nothing else is refused.
    """
    decoded = _decode_utf8(path, data)
    text = clean_plain_text(strip_control_chars(decoded))
    if not text:
        if has_control_chars(decoded):
            reason = "no text: the file holds only control characters and whitespace"
        else:
            reason = "no text: the file holds only whitespace"
        raise SeedFileError(str(path), reason)
    title, body = split_headline(text)
    record = raw_article(source={"kind": "replay", "ref": ref or path.name}, text=body, title=title)
    validate(SchemaName.RAW, record)
    return record


def _decode_utf8(path: Path, data: bytes) -> str:
    try:
        return data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SeedFileError(str(path), not_utf8_reason(data, exc)) from exc


#: Bytes looked at to tell a binary file from text in a legacy encoding.
_SNIFF_BYTES = 8192
#: C0 control bytes other than tab, line breaks and form feed: rare in any text.
_BINARY_CONTROLS = frozenset(range(32)) - {9, 10, 12, 13}


def not_utf8_reason(data: bytes, error: UnicodeDecodeError) -> str:
    """Why ``data`` is no seed text, with the hint that fits: a UTF-16/32 byte-order mark
    is converted from UTF-16/32, a binary file is not text at all, and only other text
    gets the legacy-encoding example (windows-1256, the usual one for Arabic)."""
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return (
                f"not UTF-8: the file is {name.upper()} (it starts with a {name.upper()} "
                f"byte-order mark); seed text must be UTF-8 (e.g. iconv -f {name} -t utf-8)"
            )
    head = data[:_SNIFF_BYTES]
    controls = sum(1 for byte in head if byte in _BINARY_CONTROLS)
    if b"\x00" in head or controls > len(head) // 10:
        return "looks binary, not text (it holds NUL or other control bytes); seed files are text"
    bad = error.object[error.start]
    return (
        f"not UTF-8: invalid byte 0x{bad:02x} at offset {error.start}; seed text must be "
        f"UTF-8 ({_legacy_hint(data)})"
    )


def _legacy_hint(data: bytes) -> str:
    """How to convert ``data``, naming the legacy encoding the fetcher's detector sees
    in it (windows-1256 Arabic, windows-1251 Russian, windows-1252 French, ...)."""
    guessed = guess_encoding(data)
    if guessed is None:
        return "convert it from its legacy encoding first, e.g. iconv -f ENCODING -t utf-8 FILE"
    return f"looks like {guessed[1]}: iconv -f {guessed[1]} -t utf-8 FILE"


def split_headline(text: str) -> tuple[str | None, str]:
    """``(title, body)`` for cleaned text: the first line is the title only when it reads
    like a headline (short, no sentence-final punctuation, more text follows);
    otherwise there is no title and the whole text is the body.

    Guessing wrong either way is cheap - the text is kept in full in both cases - but
    a paragraph mistaken for a title would also drop out of the id, so the test errs
    towards "no title".
    """
    first, _, rest = text.partition("\n")
    first, rest = first.strip(), rest.strip()
    if rest and _looks_like_headline(first):
        return first, rest
    return None, text


def _looks_like_headline(line: str) -> bool:
    if not line or len(line) > MAX_HEADLINE_CHARS:
        return False
    ending = line.rstrip(_CLOSERS)
    return bool(ending) and ending[-1] not in _NOT_HEADLINE_ENDINGS


# --- .jsonl ------------------------------------------------------------------------


def parse_jsonl(data: bytes, file: str) -> tuple[list[SeedRecord], list[LineFailure]]:
    """Each non-blank line -> a validated raw record or a :class:`LineFailure`.

    Works on bytes, line by line, so a line in a wrong encoding is one ``decode``
    failure carrying its original bytes instead of making the whole file unreadable.
    """
    records: list[SeedRecord] = []
    failures: list[LineFailure] = []
    for number, raw_line in enumerate(data.removeprefix(codecs.BOM_UTF8).split(b"\n"), start=1):
        line = raw_line.removesuffix(b"\r")
        if not line.strip():
            continue
        try:
            record = _without_control_chars(decode_json_object(line, SchemaName.RAW))
        except InvalidRecord as error:
            failures.append(LineFailure(file, number, line, error))
        else:
            records.append(SeedRecord(record, file, number))
    return records, failures


def _without_control_chars(record: RawArticle) -> RawArticle:
    """A valid raw record with control characters removed from its title and text, as
    :func:`raw_article` builds them; refused (schema) if that leaves no text. The id is
    kept: it is the record's identity, whatever its text looked like."""
    text = strip_control_chars(record["text"])
    if text != record["text"] and not text.strip():
        raise InvalidRecord(
            ErrorKind.SCHEMA,
            "at text: only control characters and whitespace",
            schema=SchemaName.RAW.value,
        )
    record["text"] = text
    title = record.get("title")
    if title:
        record["title"] = strip_control_chars(title) or None
    return record
