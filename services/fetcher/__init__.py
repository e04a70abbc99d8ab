"""The fetcher: a polite, robust poller that turns feeds, WordPress sites, sitemaps and
feed-less HTML outlets into raw articles on ``news.raw``.

One package per stage, in the style of Miniflux's reader: ``fetch/`` is the HTTP client
(address guard, per-host limits, capped bodies), ``parse/`` turns bytes into entries
(decoding, format sniffing, one adapter per format), ``kinds/`` is the registry of
source kinds (one module each: what a poll asks, how a response becomes a document,
whether items need their page), ``sources/`` is the sources file (model, checks, the
operator's words), ``identity`` and ``schedule`` are pure logic, ``state`` is the
per-source polling record, ``poller`` runs one poll of any kind, ``service`` runs them
all and delivers, ``discover/`` proposes sources entries for a site.
"""
