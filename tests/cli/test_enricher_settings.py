"""Enricher settings the worker could not start with are the user's to fix: one line,
exit 2, said before Kafka is waited for (tester report s8, finding 2). Before, each of
these ended in a Faust traceback and exit 1, or passed the settings check.

The real command as a child process, as in test_first_hour; no broker is needed, since
each case must stop before Kafka is asked (``127.0.0.1:1`` would be exit 3).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newswire.common.settings_checks import check_store_url
from tests.cli.test_first_hour import NO_KAFKA, assert_one_clean_line, newswire

FIXTURES = Path(__file__).parents[1] / "fixtures" / "enricher" / "settings"
_NO_KAFKA = {"KAFKA_BOOTSTRAP_SERVERS": NO_KAFKA, "KAFKA_PROFILE": "kafka"}


def _enrich(env: dict[str, str], tmp_path: Path) -> str:
    result = newswire("enrich", "--kafka-timeout", "1", env=_NO_KAFKA | env, cwd=tmp_path)
    line = assert_one_clean_line(result)
    assert result.returncode == 2, result.stderr
    return line


@pytest.mark.parametrize(
    ("taxonomy", "said"),
    [
        ("/nonexistent/taxonomy.yaml", "cannot read: [Errno 2] No such file or directory"),
        (str(FIXTURES / "not_a_taxonomy.md"), ": not valid YAML: "),
        (str(FIXTURES / "wrong_shape.yaml"), '(root): "version" is a required property'),
    ],
)
def test_a_taxonomy_the_enricher_cannot_load_is_one_line_and_exit_2(
    tmp_path: Path, taxonomy: str, said: str
) -> None:
    line = _enrich({"ENRICHER_TAXONOMY_PATH": taxonomy}, tmp_path)
    prefix = f"newswire enrich: invalid configuration: ENRICHER_TAXONOMY_PATH: {taxonomy}: "
    assert line.startswith(prefix + "not a usable taxonomy: ")
    assert said in line


def test_topics_list_declared_refuses_a_bad_taxonomy_the_same_way(tmp_path: Path) -> None:
    result = newswire(
        "topics", "list", "--declared", env={"ENRICHER_TAXONOMY_PATH": "/nonexistent.yaml"}
    )
    assert result.returncode == 2 and result.stdout == ""
    assert assert_one_clean_line(result).startswith(
        "newswire topics list: invalid configuration: ENRICHER_TAXONOMY_PATH: "
        "/nonexistent.yaml: not a usable taxonomy: cannot read: "
    )


def test_the_shipped_taxonomy_given_by_path_is_accepted() -> None:
    shipped = Path(__file__).parents[2] / "services" / "enricher" / "taxonomy.yaml"
    result = newswire("topics", "list", "--declared", env={"ENRICHER_TAXONOMY_PATH": str(shipped)})
    assert result.returncode == 0, result.stderr
    assert "news.raw" in result.stdout


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_data_dir_that_cannot_be_made_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """/proc holds no new folders, even for root: the sink's --out check says so."""
    line = _enrich({"ENRICHER_DATA_DIR": "/proc/newswire-enricher"}, tmp_path)
    assert line == (
        "newswire enrich: invalid configuration: ENRICHER_DATA_DIR: /proc/newswire-enricher: "
        "cannot be made a folder in /proc: No such file or directory"
    )


def test_a_data_dir_under_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    line = _enrich({"ENRICHER_DATA_DIR": str(tmp_path / "afile" / "state")}, tmp_path)
    assert "ENRICHER_DATA_DIR: " in line and "is not a folder" in line


def test_a_store_faust_does_not_have_is_one_line_and_exit_2(tmp_path: Path) -> None:
    line = _enrich({"ENRICHER_STORE": "redis://"}, tmp_path)
    assert line == (
        "invalid configuration: ENRICHER_STORE: not a table store the enricher can use; "
        "use memory:// or rocksdb:// (got 'redis://')"
    )


@pytest.mark.parametrize("url", ["memory://", "rocksdb://", "ROCKSDB://", "rocksdb:///data/x"])
def test_the_stores_the_enricher_runs_on_are_accepted(url: str) -> None:
    assert check_store_url(url) == url  # rocksdict is in the test extra


@pytest.mark.parametrize("url", ["", "memory", "redis://", "aerospike://", "rocks://"])
def test_other_store_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="use memory:// or rocksdb://"):
        check_store_url(url)


def test_rocksdb_without_rocksdict_is_refused_by_enrich_naming_the_extra(
    tmp_path: Path,
) -> None:
    """Where the rocksdb extra is not installed: a ``rocksdict`` that cannot be found (a
    blocker first on the path) stands in for it. The scheme itself is valid, so other
    commands sharing the environment still run."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoRocksdict:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'rocksdict':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, _NoRocksdict())\n"
    )
    env = {"ENRICHER_STORE": "rocksdb://", "PYTHONPATH": str(blocker)}
    line = _enrich(env, tmp_path)
    assert line == (
        "newswire enrich: invalid configuration: ENRICHER_STORE: rocksdb:// needs rocksdict, "
        "which is not installed (pip install 'newswire[rocksdb]'), or use memory://"
    )
    assert newswire("topics", "list", "--declared", env=env).returncode == 0


def test_every_enricher_problem_is_said_at_once(tmp_path: Path) -> None:
    env = {"ENRICHER_TAXONOMY_PATH": "/nonexistent.yaml", "ENRICHER_DATA_DIR": "/proc/nw"}
    line = _enrich(env, tmp_path)
    assert "ENRICHER_TAXONOMY_PATH: /nonexistent.yaml: " in line
    assert "; ENRICHER_DATA_DIR: /proc/nw: cannot be made a folder" in line
