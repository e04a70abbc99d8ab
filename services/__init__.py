"""newswire: streaming news ingestion (fetch -> news.raw -> enrich -> news.enriched -> sink)."""

__version__ = "0.1.0"
