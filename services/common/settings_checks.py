"""Checks of settings that need more than a type, kept out of the settings module."""

from __future__ import annotations

#: Faust table stores the enricher can run on, by URL scheme, and the module each needs
#: (Faust's rocksdb store uses rocksdict, from the ``rocksdb`` extra). Faust also names
#: ``aerospike``, which newswire neither ships nor tests.
ENRICHER_STORES: dict[str, str | None] = {"memory": None, "rocksdb": "rocksdict"}


def check_store_url(value: str) -> str:
    """ENRICHER_STORE as Faust will read it: ``memory://`` or ``rocksdb://``, else a
    ValueError naming both. Pure, so settings read on one machine for another (a shared
    .env, the deploy manifests) are judged the same everywhere."""
    scheme, separator, _ = value.partition("://")
    if not separator or scheme.lower() not in ENRICHER_STORES:
        choices = " or ".join(f"{name}://" for name in ENRICHER_STORES)
        raise ValueError(f"not a table store the enricher can use; use {choices}")
    return value


def store_module(value: str) -> str | None:
    """The module the store at VALUE (a valid ENRICHER_STORE) needs, if any."""
    return ENRICHER_STORES[value.partition("://")[0].lower()]
