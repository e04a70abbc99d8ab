"""The fetcher: a polite, robust poller that turns feeds, WordPress sites, sitemaps and
feed-less HTML outlets into raw articles on ``news.raw``.

One module per stage, in the style of Miniflux's reader: ``fetch/`` is the HTTP client
(address guard, per-host limits, capped bodies), ``parse/`` turns bytes into entries
(decoding, format sniffing, one adapter per format), ``identity`` and ``schedule`` are
pure logic, ``state`` is the per-source polling record, ``poller`` runs one poll,
``service`` runs them all and delivers.
"""
