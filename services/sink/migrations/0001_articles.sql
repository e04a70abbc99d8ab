-- 0001: one row per article, the latest content of each article id.
--
-- The full enriched record is kept as JSONB (consumers may read any field, and
-- fields added by later minor schema versions arrive without a migration); the
-- columns beside it are what consumers filter and join on, typed and indexed.
-- Written only by the sink's PostgresWriter through one upsert per flush.

CREATE TABLE articles (
    id              text        PRIMARY KEY,          -- article id (32 hex chars)
    content_hash    text        NOT NULL,             -- dedupe.content_hash: the version
    schema_version  text        NOT NULL,             -- major.minor of the record's schema
    source_kind     text        NOT NULL,             -- feed, wordpress, sitemap, html, replay
    source_id       text,                             -- source id from the sources file
    source_ref      text,                             -- replay: the seed file's name
    url             text,
    published_at    timestamptz,
    fetched_at      timestamptz NOT NULL,
    enriched_at     timestamptz NOT NULL,
    language_code   text        NOT NULL,             -- ISO 639-1/3, 'und' or 'mul'
    topics          text[]      NOT NULL DEFAULT '{}',-- topic ids, best first
    dedupe_status   text        NOT NULL,             -- new, update, duplicate, near_duplicate
    duplicate_of    text,                             -- first article of the story
    cluster_id      text,
    record          jsonb       NOT NULL,             -- the whole enriched record
    updated_at      timestamptz NOT NULL DEFAULT now()-- when this row last changed
);

COMMENT ON TABLE articles IS
    'Enriched articles, latest version per id; written by the newswire sink (idempotent upsert).';

-- By source, newest first: "what did this feed publish".
CREATE INDEX articles_source_idx ON articles (source_kind, source_id, published_at DESC);
-- Lookup by URL. A hash index, not a b-tree: URLs may be up to 4096 characters and
-- a b-tree entry must fit in a third of a page (~2.7 kB); equality is all we need.
CREATE INDEX articles_url_idx ON articles USING hash (url);
CREATE INDEX articles_published_at_idx ON articles (published_at DESC);
CREATE INDEX articles_fetched_at_idx ON articles (fetched_at DESC);
CREATE INDEX articles_language_idx ON articles (language_code, published_at DESC);
-- "Articles about X": topics @> ARRAY['iraq'] or topics && ARRAY[...].
CREATE INDEX articles_topics_idx ON articles USING gin (topics);
CREATE INDEX articles_dedupe_status_idx ON articles (dedupe_status);
-- Most articles are nobody's duplicate: index only those that are.
CREATE INDEX articles_duplicate_of_idx ON articles (duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE INDEX articles_cluster_idx ON articles (cluster_id);
CREATE INDEX articles_content_hash_idx ON articles (content_hash);
-- Incremental readers: "everything that changed since T".
CREATE INDEX articles_updated_at_idx ON articles (updated_at);
