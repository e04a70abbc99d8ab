"""Body-text fingerprints for the layered dedupe: exact copies and near-duplicates.

Two layers above the exact dedupe by article id:

* **Exact duplicate.** Another article id whose *body text* normalises to the same
  string (:func:`newswire.common.text.normalise_text`). The key is
  :func:`text_fingerprint`, BLAKE2b-128 of that string. Titles are left out on purpose:
  syndicated copies are often retitled. It is found in the same band buckets as
  near-duplicates: an exact copy has the same signature, so it shares every band.
* **Near-duplicate.** Copies of the same wire story by other outlets: a dateline or a
  byline added, a new headline, paragraphs cut from either end or the middle, a lead
  rewritten, a few words changed, or a mix. Two outlets' independent reports of the
  same event share names, numbers and places but not word sequences, so they must not
  match. The measure is how much of the shorter text's set of word 3-grams
  ("shingles") the longer one contains, with their Jaccard similarity, both estimated
  with MinHash (:mod:`newswire.enricher.overlap`) and found without pairwise comparison
  with LSH banding.

How a fingerprint is made (everything after normalisation is vectorised with numpy):

1. ``normalise_text`` (NFKC, case fold, Arabic marks and tatweel removed, letter
   variants folded); its BLAKE2b-128 is the exact-duplicate key.
2. Words are the maximal runs of letters, marks and digits (Unicode categories L, M,
   N); every decimal digit is folded to ASCII (٣ ۳ 3 are one digit). Each word gets a
   64-bit hash: a polynomial over its code points mod 2**64 from one prefix sum over the
   whole text, finished with the MurmurHash3 64-bit mixer.
3. Each run of ``shingle_words`` consecutive words is one shingle, hashed from its word
   hashes the same way. A text shorter than that is one shingle of all its words; a
   text with no letters or digits at all is one shingle of the whole string.
4. MinHash: ``num_perm`` hash functions ``h_i(x) = (a_i * x + b_i) mod 2**64`` (``a_i``
   odd, so each is a permutation of the 64-bit keys), the minimum over the shingles,
   top 32 bits kept. The coefficients come from BLAKE2b of a fixed label, never from
   a random generator, so signatures are the same in every process, version and
   platform: what is derived from them (band keys, 4-bit sketches) is stored in
   changelogged tables and compared across workers.
5. LSH: :func:`band_keys` cuts a signature into bands; band ``i`` gets the key
   ``"i:<16 hex>"`` (a 64-bit hash of its values). The stream's lookup
   (:mod:`newswire.enricher.bands`) uses **16 bands of 1 row** over the signature's first
   16 values (``probe_band_keys``): those keys are the Kafka message keys of the
   probes, and a member found through one is verified on a 4-bit sketch of the whole
   signature plus its shingle count (:mod:`newswire.enricher.overlap`: containment
   and Jaccard), not on the signature.

Defaults, chosen from the S-curve and the estimator's error (see ``overlap.py`` and
NOTES-contain.md): **3-word shingles** (a swapped word breaks three shingles, not four;
independent reports of one event share at most 0.2 of the shorter text's 3-shingles on
the tuning pairs, follow-ups 0.38, while copies keep 0.54 or more), **256 MinHash
values** (the 4-bit sketch of 256 values is 128 bytes and estimates J = 0.25 with a
standard error of 0.031, against 0.039 for an 8-bit sketch of 128 values of the same
size), and a **containment threshold of 0.5** with a Jaccard
floor of 0.08 (copies keeping half of a story and 60 % of its shingles are at
containment 0.6; a follow-up story reusing background paragraphs at 0.25-0.38).
``Fingerprint.shingles`` (the distinct shingle count) is what turns J into containment.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import threading
import unicodedata
from dataclasses import dataclass

import numpy as np

from newswire.common.text import normalise_text
from newswire.enricher.overlap import (
    DEFAULT_CONTAINMENT,
    PROBE_BANDS,
    PROBE_ROWS,
    Judgement,
    judge,
)

DEFAULT_NUM_PERM = 256
DEFAULT_SHINGLE_WORDS = 3
DEFAULT_THRESHOLD = DEFAULT_CONTAINMENT

SIGNATURE_DTYPE = np.dtype("<u4")
EMPTY_VALUE = np.uint32(0xFFFFFFFF)  # every slot of the signature of a text with no words

_U64 = np.uint64
_SHIFT_32 = _U64(32)
_SHIFT_33 = _U64(33)
_FMIX_1 = _U64(0xFF51AFD7ED558CCD)
_FMIX_2 = _U64(0xC4CEB9FE1A85EC53)
_CHAR_BASE = 0x100000001B3  # odd, so invertible mod 2**64
_CHAR_BASE_INV = pow(_CHAR_BASE, -1, 1 << 64)
_WORD_BASE = _U64(0x9E3779B97F4A7C15)  # odd
_LENGTH_SALT = _U64(0xD6E8FEB86659FD93)
_MASK_64 = (1 << 64) - 1
_COEFFICIENT_LABEL = "newswire.minhash.v1"
_CHUNK = 2048  # shingles per MinHash block: bounds the temporary at num_perm * 16 KiB
_SERIAL_VERSION = 2
_HEADER = struct.Struct("<BI")  # format version, distinct shingle count


def text_fingerprint(text: str) -> str:
    """Exact-duplicate key of a body text: BLAKE2b-128 (32 hex) of its normalised form."""
    return _body_hash(normalise_text(text))


def _body_hash(normalised: str) -> str:
    return hashlib.blake2b(normalised.encode("utf-8"), digest_size=16).hexdigest()


# ---------------------------------------------------------------------- fingerprints


@dataclass(frozen=True, slots=True, eq=False)
class Fingerprint:
    """What the dedupe layer keeps about one body text.

    ``signature`` is read-only. Fingerprints compare equal when all three fields do.
    """

    text_hash: str  # exact-duplicate key, 32 hex
    signature: np.ndarray  # MinHash values, little-endian uint32, length num_perm
    shingles: int  # distinct shingles of the text: turns Jaccard into containment

    @property
    def is_empty(self) -> bool:
        """The text had nothing to shingle (empty or whitespace only)."""
        return bool(np.all(self.signature == EMPTY_VALUE))

    def to_bytes(self) -> bytes:
        """Compact form: 5-byte header (version, shingle count), 16-byte text hash,
        signature; 1045 bytes with the default 256 values."""
        return (
            _HEADER.pack(_SERIAL_VERSION, self.shingles)
            + bytes.fromhex(self.text_hash)
            + self.signature.astype(SIGNATURE_DTYPE, copy=False).tobytes()
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        """Inverse of :meth:`to_bytes`; raises ValueError for anything else."""
        if len(data) < _HEADER.size + 16 + SIGNATURE_DTYPE.itemsize:
            raise ValueError(f"fingerprint too short: {len(data)} bytes")
        version, shingles = _HEADER.unpack_from(data)
        if version != _SERIAL_VERSION:
            raise ValueError(f"unknown fingerprint format version {version}")
        body = memoryview(data)[_HEADER.size + 16 :]
        if len(body) % SIGNATURE_DTYPE.itemsize:
            raise ValueError(f"signature of {len(body)} bytes is not a whole number of values")
        signature = np.frombuffer(body, dtype=SIGNATURE_DTYPE).copy()
        text_hash = bytes(data[_HEADER.size : _HEADER.size + 16]).hex()
        empty = bool(np.all(signature == EMPTY_VALUE))
        if (shingles == 0) != empty:
            raise ValueError(f"{shingles} shingles do not fit the signature")
        return _make_fingerprint(text_hash, signature, shingles)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fingerprint):
            return NotImplemented
        return (
            self.text_hash == other.text_hash
            and self.shingles == other.shingles
            and np.array_equal(self.signature, other.signature)
        )

    def __hash__(self) -> int:
        return hash((self.text_hash, self.signature.tobytes()))

    def __repr__(self) -> str:
        return (
            f"Fingerprint(text_hash={self.text_hash!r}, num_perm={self.signature.size}, "
            f"shingles={self.shingles})"
        )


def _make_fingerprint(text_hash: str, signature: np.ndarray, shingles: int) -> Fingerprint:
    signature = np.ascontiguousarray(signature, dtype=SIGNATURE_DTYPE)
    signature.setflags(write=False)
    return Fingerprint(text_hash, signature, shingles)


def band_keys(signature: np.ndarray, bands: int) -> tuple[str, ...]:
    """``"<band>:<16 hex>"`` for each band, the hex a 64-bit hash of the band's values
    (a polynomial over them, then the MurmurHash3 mixer); () for a text with no words.

    A text with no words gets no keys: every such text would share them, making one hot
    Kafka key. So the stream never marks such a text a duplicate of another id (there
    is no exact-text lookup outside the band buckets); the dedupe by id still catches
    its redeliveries.
    """
    values = np.asarray(signature)
    if bands < 1 or values.ndim != 1 or values.size == 0 or values.size % bands:
        raise ValueError(f"{bands} bands do not divide a signature of shape {values.shape}")
    if values.min() == EMPTY_VALUE:  # the largest value everywhere: no words
        return ()
    rows = values.astype(np.uint64).reshape(bands, -1)
    acc = rows[:, 0].copy()
    for j in range(1, rows.shape[1]):
        acc *= _WORD_BASE
        acc += rows[:, j]
    acc += _band_salts(bands)
    digits = _fmix64(acc).astype(">u8").tobytes().hex()
    return tuple([f"{i}:{digits[16 * i : 16 * i + 16]}" for i in range(bands)])


@functools.cache
def _band_salts(bands: int) -> np.ndarray:
    """Per-band offsets, so equal values in two different bands give different keys."""
    salts = np.arange(bands, dtype=np.uint64) * _LENGTH_SALT
    salts.setflags(write=False)
    return salts


# --------------------------------------------------------------------------- detector


class NearDuplicateDetector:
    """MinHash + LSH over word shingles of the normalised body text.

    Build once and share: construction derives the hash coefficients and the character
    tables; :meth:`fingerprint` is then pure and thread-safe.
    """

    def __init__(
        self,
        *,
        num_perm: int = DEFAULT_NUM_PERM,
        shingle_words: int = DEFAULT_SHINGLE_WORDS,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        probe_values = PROBE_BANDS * PROBE_ROWS
        if not isinstance(num_perm, int) or num_perm < probe_values:
            raise ValueError(
                f"num_perm must be an integer of at least {probe_values} (the probe bands' "
                f"values), got {num_perm!r}"
            )
        if not isinstance(shingle_words, int) or shingle_words < 1:
            raise ValueError(f"shingle_words must be a positive integer, got {shingle_words!r}")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
        self.num_perm = num_perm
        self.shingle_words = shingle_words
        self.threshold = float(threshold)  # containment, see overlap.judge
        self._a, self._b = _coefficients(num_perm)
        _char_table()  # built now, not on the first article

    def __repr__(self) -> str:
        return (
            f"NearDuplicateDetector(num_perm={self.num_perm}, "
            f"shingle_words={self.shingle_words}, threshold={self.threshold})"
        )

    def fingerprint(self, text: str) -> Fingerprint:
        return self.fingerprint_normalised(normalise_text(text))

    def fingerprint_normalised(self, normalised: str) -> Fingerprint:
        """:meth:`fingerprint` of a text already in its :func:`normalise_text` form.

        The enricher normalises a body once and hands the form to both the content hash
        and this; ``fingerprint(t) == fingerprint_normalised(normalise_text(t))``.
        """
        shingles = np.unique(_shingle_hashes(_word_hashes(normalised), self.shingle_words))
        signature = _minhash(shingles, self._a, self._b)
        return _make_fingerprint(_body_hash(normalised), signature, int(shingles.size))

    def similarity(self, a: np.ndarray | Fingerprint, b: np.ndarray | Fingerprint) -> float:
        """Estimated Jaccard similarity: the share of signature positions that agree."""
        left, right = _signature(a), _signature(b)
        if left.shape != right.shape:
            raise ValueError(f"signatures differ in shape: {left.shape} and {right.shape}")
        return float(np.count_nonzero(left == right) / left.size)

    def similarities(self, signature: np.ndarray | Fingerprint, others: np.ndarray) -> np.ndarray:
        """Estimated similarity of one signature to each row of ``others`` (n, num_perm)."""
        one = _signature(signature)
        matrix = np.asarray(others)
        if matrix.ndim != 2 or matrix.shape[1] != one.size:
            raise ValueError(f"expected (n, {one.size}) signatures, got shape {matrix.shape}")
        return np.count_nonzero(matrix == one, axis=1) / one.size

    def judge(self, a: Fingerprint, b: Fingerprint) -> Judgement:
        """Containment and Jaccard of two fingerprints from their full signatures
        (the stream judges on sketches: :func:`newswire.enricher.bands.best_candidate`)."""
        return judge(self.similarity(a, b), a.shingles, b.shingles, threshold=self.threshold)

    def is_near_duplicate(self, a: Fingerprint, b: Fingerprint) -> bool:
        return self.judge(a, b).near


def _signature(value: np.ndarray | Fingerprint) -> np.ndarray:
    signature = value.signature if isinstance(value, Fingerprint) else np.asarray(value)
    if signature.ndim != 1 or signature.size == 0:
        raise ValueError(f"a signature is a non-empty 1-D array, got shape {signature.shape}")
    return signature


@functools.cache
def _coefficients(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """``a_i`` (odd) and ``b_i`` for each hash function, from BLAKE2b: stable forever."""
    a = np.empty(num_perm, dtype=np.uint64)
    b = np.empty(num_perm, dtype=np.uint64)
    for i in range(num_perm):
        digest = hashlib.blake2b(f"{_COEFFICIENT_LABEL}:{i}".encode(), digest_size=16).digest()
        a[i] = int.from_bytes(digest[:8], "little") | 1
        b[i] = int.from_bytes(digest[8:], "little")
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


# ------------------------------------------------------------------- hashing, numpy


def _char_class(ch: str) -> int:
    """What a character contributes to a word: its code point with decimal digits folded
    to ASCII (٣ ۳ 3 are one digit), or 0 if it is not a letter, mark or number."""
    if unicodedata.category(ch)[0] not in "LMN":
        return 0
    digit = unicodedata.decimal(ch, None)
    return ord("0") + digit if digit is not None else ord(ch)


@functools.cache
def _char_table() -> np.ndarray:
    """:func:`_char_class` of every code point of the Basic Multilingual Plane (uint64;
    ~30 ms once)."""
    table = np.fromiter((_char_class(chr(code)) for code in range(0x10000)), np.uint64, 0x10000)
    table.setflags(write=False)
    return table


class _Powers:
    """``base**i`` and ``base**-i`` mod 2**64 for i < n, grown by doubling as needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables = self._build(4096)

    @staticmethod
    def _build(n: int) -> tuple[np.ndarray, np.ndarray]:
        forward = np.full(n, _CHAR_BASE, dtype=np.uint64)
        inverse = np.full(n, _CHAR_BASE_INV, dtype=np.uint64)
        forward[0] = inverse[0] = 1
        np.cumprod(forward, out=forward)  # wraps mod 2**64, as intended
        np.cumprod(inverse, out=inverse)
        return forward, inverse

    def upto(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        tables = self._tables
        if tables[0].size < n:
            with self._lock:
                if self._tables[0].size < n:
                    self._tables = self._build(max(n, 2 * self._tables[0].size))
                tables = self._tables
        return tables


_POWERS = _Powers()


def _fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, in place: spreads every input bit over the output."""
    x ^= x >> _SHIFT_33
    x *= _FMIX_1
    x ^= x >> _SHIFT_33
    x *= _FMIX_2
    x ^= x >> _SHIFT_33
    return x


def _word_codes(normalised: str) -> np.ndarray:
    """:func:`_char_class` of each character of a string (uint64, 0 between words)."""
    raw = np.frombuffer(normalised.encode("utf-32-le"), dtype="<u4")
    table = _char_table()
    if raw.max() <= 0xFFFF:
        return table[raw]
    codes = table[np.minimum(raw, 0xFFFF)]
    for i in np.flatnonzero(raw > 0xFFFF):  # emoji, historic scripts: rare, one by one
        codes[i] = _char_class(chr(int(raw[i])))
    return codes


def _word_hashes(normalised: str) -> np.ndarray:
    """64-bit hash of each word, in text order (uint64)."""
    if not normalised:
        return np.empty(0, dtype=np.uint64)
    codes = _word_codes(normalised)
    inside = np.zeros(codes.size + 2, dtype=bool)
    np.not_equal(codes, 0, out=inside[1:-1])
    edges = np.flatnonzero(inside[1:] != inside[:-1])
    starts, ends = edges[0::2], edges[1::2]
    if starts.size == 0:  # no letters or digits: the whole string is the one word
        codes = np.frombuffer(normalised.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
        starts, ends = np.array([0]), np.array([codes.size])
    forward, inverse = _POWERS.upto(codes.size)
    prefix = np.empty(codes.size + 1, dtype=np.uint64)
    prefix[0] = 0
    np.cumsum(codes * forward[: codes.size], out=prefix[1:])
    hashes = (prefix[ends] - prefix[starts]) * inverse[starts]  # sum c_j * base**(j-start)
    hashes += (ends - starts).astype(np.uint64) * _LENGTH_SALT
    return _fmix64(hashes)


def _shingle_hashes(words: np.ndarray, shingle_words: int) -> np.ndarray:
    """Hash of every run of ``shingle_words`` words; one shingle of all words if fewer."""
    if words.size == 0:
        return words
    k = min(shingle_words, words.size)
    count = words.size - k + 1
    acc = words[:count].copy()
    for j in range(1, k):
        acc *= _WORD_BASE
        acc += words[j : j + count]
    acc += _U64((k * int(_LENGTH_SALT)) & _MASK_64)  # no shingle is shared across widths
    return _fmix64(acc)


def _minhash(shingles: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minimum of ``(a_i * x + b_i) mod 2**64`` over the shingles, top 32 bits (uint32).

    The shift commutes with the minimum, so it is applied to ``num_perm`` values only.
    """
    if shingles.size == 0:
        return np.full(a.size, EMPTY_VALUE, dtype=SIGNATURE_DTYPE)
    lowest = np.full(a.size, np.iinfo(np.uint64).max, dtype=np.uint64)
    column_b = b[:, None]
    for start in range(0, shingles.size, _CHUNK):
        block = np.multiply.outer(a, shingles[start : start + _CHUNK])
        block += column_b
        np.minimum(lowest, block.min(axis=1), out=lowest)
    return (lowest >> _SHIFT_32).astype(SIGNATURE_DTYPE)


def shingle_set(text: str, *, shingle_words: int = DEFAULT_SHINGLE_WORDS) -> set[int]:
    """The exact shingle hashes of a text (for evaluation, tuning and tests)."""
    return set(_shingle_hashes(_word_hashes(normalise_text(text)), shingle_words).tolist())


def exact_jaccard(a: str, b: str, *, shingle_words: int = DEFAULT_SHINGLE_WORDS) -> float:
    """Exact Jaccard similarity of two texts' shingle sets (for evaluation and tuning)."""
    left, right = (
        shingle_set(a, shingle_words=shingle_words),
        shingle_set(b, shingle_words=shingle_words),
    )
    if not left and not right:
        return 1.0
    return len(left & right) / len(left | right)


def exact_containment(a: str, b: str, *, shingle_words: int = DEFAULT_SHINGLE_WORDS) -> float:
    """Exact overlap coefficient: the share of the smaller shingle set in the larger."""
    left, right = (
        shingle_set(a, shingle_words=shingle_words),
        shingle_set(b, shingle_words=shingle_words),
    )
    if not left or not right:
        return 1.0 if left == right else 0.0
    return len(left & right) / min(len(left), len(right))


__all__ = [
    "DEFAULT_NUM_PERM",
    "DEFAULT_SHINGLE_WORDS",
    "DEFAULT_THRESHOLD",
    "Fingerprint",
    "NearDuplicateDetector",
    "band_keys",
    "exact_containment",
    "exact_jaccard",
    "shingle_set",
    "text_fingerprint",
]
