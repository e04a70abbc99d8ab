"""One RFC 3339 reader and one partitioner for every service (both were written several
times over): properties, not examples, since every record and table key goes through them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from newswire.common.kafka import default_partition, murmur2
from newswire.common.records import utc_now
from newswire.common.times import parse_rfc3339

offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=offsets
)


@given(moments)
def test_what_isoformat_writes_is_read_back_as_the_same_instant(moment: datetime) -> None:
    text = moment.isoformat()
    assert parse_rfc3339(text) == moment
    assert parse_rfc3339(text.lower()) == moment
    assert parse_rfc3339(text.replace("+00:00", "Z")) == moment


def test_newswire_timestamps_naive_values_and_leap_seconds() -> None:
    now = utc_now()
    assert parse_rfc3339(now).tzinfo is not None
    assert parse_rfc3339("2026-01-31T10:00:00") == datetime(2026, 1, 31, 10, tzinfo=UTC)
    assert parse_rfc3339("2016-12-31t23:59:60z") == datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)
    for bad in ("yesterday", "", "2026-13-01T00:00:00Z"):
        with pytest.raises(ValueError):
            parse_rfc3339(bad)


@given(st.binary(min_size=1, max_size=64), st.integers(1, 64))
def test_default_partition_is_kafkas_default_partitioner(key: bytes, partitions: int) -> None:
    every = list(range(partitions))
    assert default_partition(key, partitions) == DefaultPartitioner()(key, every, every)


@given(st.binary(max_size=80))
def test_murmur2_gives_aiokafkas_values(data: bytes) -> None:
    """Every length mod 4 (the tail bytes) and the empty key included."""
    assert murmur2(data) == aiokafka_murmur2(data)


@pytest.mark.parametrize(
    ("data", "signed"),
    [  # Apache Kafka's own cases (UtilsTest.testMurmur2), as Java's signed ints
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
    ],
)
def test_murmur2_gives_javas_values(data: bytes, signed: int) -> None:
    assert murmur2(data) == signed % 2**32
