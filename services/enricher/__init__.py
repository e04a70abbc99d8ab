"""The enricher: a Faust worker that dedupes, tags language and classifies topics."""
