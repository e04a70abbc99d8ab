"""The one typed settings object, built from environment variables (12-factor).

Every service receives a :class:`Settings` explicitly; nothing reads the environment
behind its back. Each group reads its own prefix, so the names an operator sets are
short and stable (``KAFKA_BOOTSTRAP_SERVERS``, ``TOPIC_RAW``, ``SINK_OUT_DIR`` ...).
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from newswire.common.settings_checks import check_store_url

#: Where the embedded broker listens when no cluster is configured.
EMBEDDED_BOOTSTRAP = "127.0.0.1:19092"


class BrokerProfile(StrEnum):
    """Which broker quirks the clients must work around.

    ``kafka`` is Apache Kafka (or anything faithful to it). ``embedded`` is the
    Tansu broker shipped for development: its high watermark is only right when
    every produce batch holds one record, so clients trade produce rate for
    correct end offsets (table recovery, lag, "caught up" checks), and consumer
    groups use short timeouts so a worker joins in seconds.
    """

    KAFKA = "kafka"
    EMBEDDED = "embedded"


class SecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class SaslMechanism(StrEnum):
    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


class KafkaSettings(BaseSettings):
    """How to reach the cluster. Unset bootstrap servers mean the embedded broker."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str | None = Field(
        default=None,
        description="Comma-separated host:port list; unset means the embedded broker "
        f"at {EMBEDDED_BOOTSTRAP}.",
    )
    profile: BrokerProfile | None = Field(
        default=None,
        description="Broker quirks profile: 'kafka' or 'embedded'. Defaults to 'embedded' "
        "when bootstrap servers are unset, else 'kafka'.",
    )
    client_id: str = Field(default="newswire", description="Client id prefix sent to brokers.")
    max_message_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=64 * 1024,
        description=(
            "Largest record a producer sends; also set as max.message.bytes on created topics."
        ),
    )
    security_protocol: SecurityProtocol = Field(
        default=SecurityProtocol.PLAINTEXT,
        description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.",
    )
    sasl_mechanism: SaslMechanism = Field(
        default=SaslMechanism.SCRAM_SHA_512, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."
    )
    sasl_username: str | None = Field(default=None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    ssl_cafile: Path | None = Field(default=None, description="CA bundle (PEM) for SSL.")
    ssl_certfile: Path | None = Field(default=None, description="Client certificate for mTLS.")
    ssl_keyfile: Path | None = Field(default=None, description="Client key for mTLS.")

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and not (
            self.sasl_username and self.sasl_password
        ):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        return self

    @property
    def bootstrap(self) -> str:
        return self.bootstrap_servers or EMBEDDED_BOOTSTRAP

    @property
    def uses_embedded_broker(self) -> bool:
        return self.bootstrap_servers is None

    @property
    def effective_profile(self) -> BrokerProfile:
        if self.profile is not None:
            return self.profile
        return BrokerProfile.EMBEDDED if self.uses_embedded_broker else BrokerProfile.KAFKA


class TopicSettings(BaseSettings):
    """Topic names and layout. Declared once here; ``newswire topics create`` applies them."""

    model_config = SettingsConfigDict(env_prefix="TOPIC_", extra="ignore")

    raw: str = Field(default="news.raw", description="Raw articles from fetcher and replay.")
    enriched: str = Field(default="news.enriched", description="Enriched articles.")
    dlq: str = Field(default="news.dlq", description="Dead letters from every service.")
    partitions: int = Field(
        default=6,
        ge=1,
        description="Partitions of news.raw and news.enriched (enricher max replicas).",
    )
    replication_factor: int = Field(
        default=1, ge=1, description="Replication factor for created topics."
    )
    raw_retention_ms: int = Field(
        default=7 * 24 * 3600 * 1000, description="Retention of news.raw."
    )
    enriched_retention_ms: int = Field(
        default=30 * 24 * 3600 * 1000, description="Retention of news.enriched."
    )
    dlq_retention_ms: int = Field(
        default=30 * 24 * 3600 * 1000, description="Retention of news.dlq."
    )


def split_commas(value: object) -> object:
    """A comma-separated environment value as a list of its non-empty parts; else as is."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class EnricherSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENRICHER_", extra="ignore")

    app_id: str = Field(default="newswire-enricher", description="Faust app id (consumer group).")
    store: str = Field(
        default="memory://",
        description="Faust table store: memory:// or rocksdb:// (needs the rocksdb extra).",
    )
    data_dir: Path = Field(default=Path(".newswire/enricher"), description="Faust state directory.")
    web_port: int = Field(
        default=6066, ge=1, le=65535, description="Port of the worker's HTTP server."
    )
    web_host: str = Field(
        default="0.0.0.0", description="Bind address of the worker's HTTP server."
    )
    batch_size: int = Field(default=500, ge=1, description="Records taken from the stream at once.")
    batch_within_s: float = Field(default=0.2, gt=0, description="Longest wait to fill a batch.")
    language_prefix_chars: int = Field(
        default=600, ge=100, description="Characters of title and text given to language ID."
    )
    languages: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["ar", "en", "fa", "ckb", "kmr"],
        description="Languages the deployment carries (comma-separated codes): the prior of "
        "language ID. Empty means a flat prior over all ~140 languages.",
    )
    language_prior_share: float = Field(
        default=0.95,
        ge=0.0,
        lt=1.0,
        description="Share of articles assumed to be in ENRICHER_LANGUAGES (the prior mass).",
    )
    language_hint_trust: float = Field(
        default=0.5,
        ge=0.0,
        lt=1.0,
        description="Prior probability given to a source's declared language (language_hint).",
    )
    max_classified_chars: int = Field(
        default=50_000,
        ge=1_000,
        description="Characters of text read by topic classification; bounds the work one record "
        "costs, so no article holds the event loop near the group session timeout.",
    )
    taxonomy_path: Path | None = Field(
        default=None, description="Topic taxonomy YAML; unset means the shipped one."
    )

    @field_validator("languages", mode="before")
    @classmethod
    def _split_languages(cls, value: object) -> object:
        """Accept ``"ar,en,fa"`` from the environment as well as a list."""
        return split_commas(value)

    @field_validator("store", mode="after")
    @classmethod
    def _known_store(cls, value: str) -> str:
        """The scheme is checked here, by every command: Faust takes any URL and fails
        only once the worker starts (a traceback, exit 1). Whether rocksdict is installed
        is the enrich command's check (:mod:`newswire.cli.preflight`)."""
        return check_store_url(value)

    dedupe_window_s: float = Field(
        default=7 * 24 * 3600,
        gt=0,
        description="How long ids and near-duplicate bands are remembered.",
    )
    band_capacity: int = Field(
        default=16,
        ge=2,
        description="Articles remembered per LSH band bucket (the first always stays).",
    )
    near_duplicate_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="Longest wait for band answers before a batch goes on without them.",
    )
    expiry_sweep_s: float = Field(
        default=600.0,
        gt=0,
        description="How often tables are swept for keys past the dedupe window.",
    )
    drop_duplicates: bool = Field(
        default=False,
        description="Drop duplicates and near-duplicates instead of forwarding them marked.",
    )


class SinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SINK_", extra="ignore")

    group_id: str = Field(default="newswire-sink", description="Consumer group of the sink.")
    out_dir: Path = Field(default=Path("out"), description="JSON Lines output directory.")
    index_window_s: float = Field(
        default=7 * 24 * 3600,
        gt=0,
        description="JSON Lines: how long written (id, content hash) pairs are remembered to "
        "skip redeliveries (only this much output is read at start); like "
        "ENRICHER_DEDUPE_WINDOW_S.",
    )
    batch_max_records: int = Field(
        default=5000,
        ge=1,
        description="Flush after this many records (a batch may run over by one poll). "
        "With ~5 kB articles SINK_BATCH_MAX_BYTES comes first (~800).",
    )
    batch_max_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="Flush after this many bytes of records (one batch is flushed in the "
        "background while the next fills, so about twice this is held).",
    )
    batch_max_age_s: float = Field(
        default=2.0, gt=0, description="Flush a batch this many seconds after its first record."
    )
    batch_caught_up_records: int = Field(
        default=500,
        ge=1,
        description="A sink that has just caught up with the broker (the end of a burst "
        "or a catch-up) flushes what it holds at once; one that stays caught up (a "
        "steady trickle) flushes once it holds this many records, fewer wait for "
        "SINK_BATCH_MAX_AGE_S or an idle poll. It does not hold a batch open across "
        "pauses: a trickle with pauses over SINK_BATCH_MAX_AGE_S writes a file per short "
        "burst, often per record; raise SINK_BATCH_MAX_AGE_S for fewer, larger files.",
    )
    writers: str | None = Field(
        default=None,
        description=(
            "Comma-separated writers (jsonl, postgres); "
            "unset: jsonl, plus postgres when a DSN is set."
        ),
    )

    @field_validator("writers", mode="after")
    @classmethod
    def _known_writers(cls, value: str | None) -> str | None:
        """Checked here, not only by ``sink``: every command reads the settings, so a
        misspelt writer is reported by any of them, on one line with every other bad
        variable, instead of after they are fixed."""
        if value is None or not value.strip():
            return value
        from newswire.sink.writers.registry import known  # the sink's list, loaded lazily

        names = [name.strip().lower() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in known()]
        if unknown:
            raise ValueError(f"unknown writer(s) {unknown}; use {', '.join(known())}")
        return value

    postgres_dsn: SecretStr | None = Field(
        default=None,
        description="PostgreSQL DSN of the postgres writer, e.g. postgresql://user:pw@host/db.",
    )
    postgres_connect_timeout_s: float = Field(
        default=10.0, gt=0, description="PostgreSQL connect timeout."
    )
    postgres_command_timeout_s: float = Field(
        default=60.0, gt=0, description="PostgreSQL statement timeout."
    )
    http_host: str = Field(
        default="0.0.0.0", description="Bind address of /healthz, /readyz, /metrics."
    )
    http_port: int = Field(
        default=6068,
        ge=0,
        le=65535,
        description="Port of /healthz, /readyz, /metrics (0: any free port).",
    )


class ReplaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPLAY_", extra="ignore")

    max_file_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1, description="Seed files larger than this are refused."
    )


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_USER_AGENT = "newswire-fetcher/0.1 (news ingestion; conditional GET; honours Retry-After)"


class FetcherSettings(BaseSettings):
    """Politeness, safety limits and scheduling defaults of the fetcher."""

    model_config = SettingsConfigDict(env_prefix="FETCHER_", extra="ignore")

    user_agent: str = Field(
        default=DEFAULT_USER_AGENT, description="User-Agent sent with every request."
    )
    connect_timeout_s: float = Field(default=10.0, gt=0, description="TCP/TLS connect timeout.")
    read_timeout_s: float = Field(
        default=20.0, gt=0, description="Longest wait for the next bytes."
    )
    total_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Deadline for one whole request, body included (stops trickling servers).",
    )
    host_pause_max_wait_s: float = Field(
        default=10.0,
        ge=0,
        description="Longest host pause (a 429's or 503's Retry-After) a request waits out "
        "(at most the request deadline); a longer one fails it at once as rate_limited "
        "(host paused), and its source is polled again after the pause.",
    )
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Body size cap, applied after decompression."
    )
    bomb_ratio: float = Field(
        default=100.0,
        gt=1,
        description="A compressed body over the cap expanding more than this is a bomb.",
    )
    max_redirects: int = Field(default=5, ge=0, description="Redirects followed per request.")
    concurrency: int = Field(
        default=64, ge=1, description="Sources polled at once, all hosts together."
    )
    per_host_concurrency: int = Field(
        default=2, ge=1, description="Requests in flight to one host."
    )
    keepalive_connections: int = Field(
        default=8,
        ge=0,
        description=(
            "Idle connections kept open for reuse, all hosts together. Small on purpose: a "
            "source is polled minutes apart, so only back-to-back requests to one host "
            "(robots.txt then the feed, listing pages, articles) reuse a connection, and "
            "httpcore's pool spends time quadratic in its idle connections on every request."
        ),
    )
    per_host_spacing_s: float = Field(
        default=1.0,
        ge=0,
        description="Minimum time between the starts of two requests to one host.",
    )
    min_interval_s: float = Field(
        default=300.0, gt=0, description="Default shortest poll interval."
    )
    max_interval_s: float = Field(
        default=6 * 3600.0, gt=0, description="Default longest poll interval."
    )
    hint_cap_s: float = Field(
        default=24 * 3600.0,
        gt=0,
        description="Feed hints (ttl, max-age, Retry-After) longer than this are cut.",
    )
    jitter_ratio: float = Field(
        default=0.1, ge=0, le=1, description="Intervals grow by up to this fraction."
    )
    backoff_base_s: float = Field(
        default=60.0, gt=0, description="First retry delay after a failure."
    )
    backoff_cap_s: float = Field(
        default=12 * 3600.0, gt=0, description="Longest retry delay after failures."
    )
    silent_after_s: float = Field(
        default=3 * 24 * 3600.0,
        gt=0,
        description="A source with no new item for this long is reported silent.",
    )
    seen_ids_max: int = Field(default=2000, ge=10, description="Item ids remembered per source.")
    max_article_fetches: int = Field(
        default=30,
        ge=0,
        description="Article pages fetched per poll (html, sitemap, full_article feeds).",
    )
    max_pages: int = Field(
        default=3,
        ge=1,
        description=(
            "Pages read per poll: WordPress pages, child sitemaps, html listing pages "
            "(a source's max_pages overrides it)."
        ),
    )
    robots_ttl_s: float = Field(
        default=24 * 3600.0,
        gt=0,
        description="How long a host's robots.txt is used before it is fetched again.",
    )
    robots_retry_s: float = Field(
        default=600.0,
        gt=0,
        description="An unreachable robots.txt (5xx, 429, network): host disallowed this long.",
    )
    robots_max_bytes: int = Field(
        default=512 * 1024,
        ge=500 * 1024,
        description="robots.txt size cap (RFC 9309: at least 500 KiB); larger is allow-all.",
    )
    robots_timeout_s: float = Field(
        default=10.0, gt=0, description="Deadline for fetching one robots.txt, redirects included."
    )
    robots_max_crawl_delay_s: float = Field(
        default=120.0,
        ge=0,
        description="Crawl-delay / Request-rate spacing honoured up to this many seconds.",
    )
    sources_topic: str = Field(
        default="news.sources",
        description="Compacted topic of the sources (key = source id), written by "
        "'newswire sources apply'; replicas share it by consumer group.",
    )
    group_id: str = Field(
        default="newswire-fetcher",
        description="Consumer group of the fetcher replicas on the sources topic.",
    )
    partitions: int = Field(
        default=6,
        ge=1,
        description="Partitions of the sources and state topics (co-partitioned by the "
        "source URL's host): the most replicas that share the work.",
    )
    state_topic: str = Field(
        default="news.fetcher-state", description="Compacted topic of per-source state."
    )
    web_host: str = Field(
        default="0.0.0.0", description="Bind address of /healthz, /readyz, /metrics."
    )
    web_port: int = Field(
        default=6067, ge=0, le=65535, description="Port of /healthz, /readyz, /metrics (0 = off)."
    )
    allow_networks: Annotated[list[IPNetwork], NoDecode] = Field(
        default_factory=list,
        description=(
            "CIDRs opened despite the private-address guard (comma-separated), e.g. 127.0.0.1/32."
        ),
    )

    @field_validator("allow_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        """Accept ``"10.1.0.0/16,127.0.0.1"`` from the environment as well as a list."""
        return split_commas(value)

    @field_validator("allow_networks", mode="after")
    @classmethod
    def _strict_networks(cls, value: list[IPNetwork]) -> list[IPNetwork]:
        return [ipaddress.ip_network(str(net), strict=False) for net in value]


class Settings(BaseSettings):
    """Everything a newswire service needs, grouped by concern."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_", extra="ignore")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="Python log level: DEBUG, INFO, WARNING, ERROR or CRITICAL."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        """Levels are accepted in any case, as Python's logging accepts them."""
        return value.upper() if isinstance(value, str) else value

    status_interval_s: float = Field(
        default=30.0, gt=0, description="Seconds between the services' one-line status logs."
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    enricher: EnricherSettings = Field(default_factory=EnricherSettings)
    sink: SinkSettings = Field(default_factory=SinkSettings)
    replay: ReplaySettings = Field(default_factory=ReplaySettings)
    fetcher: FetcherSettings = Field(default_factory=FetcherSettings)
