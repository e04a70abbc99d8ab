"""The enricher's configuration, checked by the commands that need it before anything
waits for Kafka: what the settings object cannot judge alone because it depends on
this machine (files, folders, installed modules). Each problem would otherwise end in
a Faust traceback and exit 1 once the worker starts; here it is one line, exit 2,
``newswire COMMAND: invalid configuration: ENRICHER_X: ...; ENRICHER_Y: ...``."""

from __future__ import annotations

import importlib

from newswire.cli.exits import EXIT_USAGE, fail
from newswire.common.settings import Settings
from newswire.common.settings_checks import store_module


def taxonomy_problem(settings: Settings) -> str | None:
    """ENRICHER_TAXONOMY_PATH loaded and validated as the enricher will load it (missing,
    not YAML, YAML that is not a taxonomy); unset is the shipped one, which the tests
    cover and which is not read here."""
    path = settings.enricher.taxonomy_path
    if path is None:
        return None
    from newswire.enricher.topics.loading import load_taxonomy  # only a custom one pays
    from newswire.enricher.topics.taxonomy import TaxonomyError

    try:
        load_taxonomy(path)
    except TaxonomyError as exc:
        where = "" if exc.where == "(file)" else f"{exc.where}: "
        return f"ENRICHER_TAXONOMY_PATH: {path}: not a usable taxonomy: {where}{exc.reason}"
    return None


def state_problems(settings: Settings) -> list[str]:
    """Where the worker keeps its tables: ENRICHER_DATA_DIR must be a folder that can be
    made (the one check the sink's and run's ``--out`` use), and a rocksdb:// store
    needs rocksdict installed (the ``rocksdb`` extra) on this machine."""
    from newswire.cli.run import check_out_dir

    config = settings.enricher
    problems: list[str] = []
    folder = check_out_dir(config.data_dir)
    if folder:
        problems.append(f"ENRICHER_DATA_DIR: {folder}")
    module = store_module(config.store)
    if module is not None and not _importable(module):
        problems.append(
            f"ENRICHER_STORE: {config.store} needs {module}, which is not installed "
            "(pip install 'newswire[rocksdb]'), or use memory://"
        )
    return problems


def _importable(module: str) -> bool:
    """Imported, not only found: a wheel whose native library cannot load is as absent
    to Faust (which imports it at the first table) as a missing one."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def require_enricher_config(command: str, settings: Settings, *, state: bool = True) -> None:
    """One line and exit 2 unless the enricher could start as configured; STATE False
    leaves out the state folder and store (a command that only describes the enricher)."""
    problems = [p for p in (taxonomy_problem(settings),) if p]
    if state:
        problems += state_problems(settings)
    if problems:
        fail(command, "invalid configuration: " + "; ".join(problems), EXIT_USAGE)
