import pytest
from pydantic import ValidationError

from newswire.common.settings import EMBEDDED_BOOTSTRAP, BrokerProfile, KafkaSettings, Settings
from newswire.common.settings_env import InvalidSettings, load_settings


def test_defaults_mean_the_embedded_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("KAFKA_PROFILE", raising=False)
    kafka = KafkaSettings()
    assert (
        kafka.bootstrap == EMBEDDED_BOOTSTRAP and kafka.effective_profile is BrokerProfile.EMBEDDED
    )


def test_environment_configures_each_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("TOPIC_RAW", "custom.raw")
    monkeypatch.setenv("SINK_OUT_DIR", "/data/out")
    monkeypatch.setenv("TOPIC_PARTITIONS", "12")
    settings = Settings()
    assert settings.kafka.effective_profile is BrokerProfile.KAFKA
    assert settings.topics.raw == "custom.raw" and settings.topics.partitions == 12
    assert str(settings.sink.out_dir) == "/data/out"


def test_sasl_without_credentials_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.delenv("KAFKA_SASL_USERNAME", raising=False)
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME"):
        KafkaSettings()


def test_sasl_options_reach_the_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    from newswire.common.kafka import connection_options, faust_options

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k:9093")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    kafka = KafkaSettings()
    options = connection_options(kafka)
    assert (
        options["sasl_mechanism"] == "SCRAM-SHA-256" and options["sasl_plain_password"] == "s3cret"
    )
    assert options["ssl_context"] is not None
    assert faust_options(kafka)["broker_credentials"].mechanism.value == "SCRAM-SHA-256"
    assert "s3cret" not in repr(kafka)


def test_readme_configuration_table_is_generated_from_the_settings() -> None:
    """The README's table is `newswire settings` output: a new setting must show up there."""
    from pathlib import Path

    from newswire.common.settings_env import settings_reference_markdown

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    begin = readme.index("<!-- settings:begin")
    table = readme[readme.index("\n", begin) + 1 : readme.index("<!-- settings:end -->")].strip()
    assert table == settings_reference_markdown(), "regenerate with `newswire settings`"


def test_json_log_lines_name_the_service_and_position() -> None:
    import logging

    import orjson

    from newswire.common.logs import JsonLineFormatter

    record = logging.LogRecord(
        "newswire.enricher", logging.WARNING, __file__, 1, "dead letter: %s", ("x",), None
    )
    record.topic, record.partition, record.offset = "news.raw", 2, 41
    line = orjson.loads(JsonLineFormatter("enricher").format(record))
    assert line["service"] == "enricher" and (line["topic"], line["partition"], line["offset"]) == (
        "news.raw",
        2,
        41,
    )
    assert line["msg"] == "dead letter: x" and line["level"] == "warning"


def test_every_refused_group_is_reported_not_only_the_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_MAX_MESSAGE_BYTES", "x")
    monkeypatch.setenv("FETCHER_CONNECT_TIMEOUT_S", "abc")
    monkeypatch.setenv("NEWSWIRE_STATUS_INTERVAL_S", "-1")
    with pytest.raises(InvalidSettings) as refused:
        load_settings()
    assert [p.title for p in refused.value.problems] == [
        "Settings",
        "KafkaSettings",
        "FetcherSettings",
    ]


def test_a_valid_environment_loads_as_one_settings_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOPIC_PARTITIONS", "12")
    monkeypatch.setenv("NEWSWIRE_STATUS_INTERVAL_S", "5")
    assert load_settings() == Settings()
    assert load_settings().topics.partitions == 12
