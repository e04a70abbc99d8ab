"""``bench sink`` without a broker: the bare JSON Lines loop and the last line."""

from __future__ import annotations

from pathlib import Path

import orjson
from aiokafka import ConsumerRecord, TopicPartition

from newswire.cli.bench_sink import BareJsonLines, WriterFigures, WriterRounds, drain, ratio_line

TP = TopicPartition("enriched", 0)


class FakeSource:
    """Hands out BATCHES one poll at a time (then empty polls), counts commits."""

    def __init__(self, batches: list[list[bytes]]) -> None:
        self.batches = batches
        self.commits = 0
        self.offset = 0

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        if not self.batches:
            return {}
        values = self.batches.pop(0)
        records = []
        for value in values:
            records.append(
                ConsumerRecord(
                    TP.topic, TP.partition, self.offset, 0, 0, None, value, None, len(value), 0, ()
                )
            )
            self.offset += 1
        return {TP: records}

    async def commit(self) -> None:
        self.commits += 1


async def test_bare_jsonl_loop_writes_each_batch_as_one_whole_file_then_commits(
    tmp_path: Path,
) -> None:
    records = [orjson.dumps({"id": f"a{i}", "n": i}) for i in range(5)]
    source = FakeSource([[], records[:3], [], records[3:]])
    write = BareJsonLines(tmp_path)

    rate = await drain(source, 5, write, max_records=1000, timeout_s=10)

    assert rate > 0
    assert source.commits == 2
    files = _written(tmp_path)
    assert [len(lines) for lines in files] == [3, 2]
    assert [orjson.loads(line)["id"] for lines in files for line in lines] == [
        f"a{i}" for i in range(5)
    ]
    assert list((tmp_path / ".tmp").iterdir()) == []  # renamed into place, nothing left


def _written(directory: Path) -> list[list[bytes]]:
    """The lines of each file in DIRECTORY, in write order."""
    return [path.read_bytes().splitlines() for path in sorted(directory.glob("*.jsonl"))]


def test_last_line_has_two_decimal_ratios_or_postgres_skipped() -> None:
    jsonl = WriterFigures("jsonl", sink=800.0, bare=1000.0)
    postgres = WriterFigures("postgres", sink=1.0, bare=3.0)

    assert jsonl.ratio == 0.8
    assert ratio_line(jsonl, None) == "jsonl=0.80 postgres=skipped"
    assert ratio_line(jsonl, postgres) == "jsonl=0.80 postgres=0.33"


def test_the_ratio_of_rounds_is_their_median() -> None:
    rounds = WriterRounds(
        "jsonl",
        (
            WriterFigures("jsonl", sink=600.0, bare=1000.0),
            WriterFigures("jsonl", sink=1100.0, bare=1000.0),
            WriterFigures("jsonl", sink=900.0, bare=1000.0),
        ),
    )

    assert rounds.ratio == 0.9
    assert ratio_line(rounds, None) == "jsonl=0.90 postgres=skipped"
