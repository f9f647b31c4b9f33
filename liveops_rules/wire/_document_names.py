"""Names the wire's documents share across its modules: kept apart so that loading a catalog
of promotions needs none of the chains' code."""

__all__ = ["CHAIN_CATALOG_SECTIONS", "LIBRARY_EXTENSIONS"]

CHAIN_CATALOG_SECTIONS = ("value_points", "reward_chains", "daily_chains", "offer_chains")
"""A catalog file's lists of value points, reward chains, daily chains and offer chains
(beside the promotion lists)."""

LIBRARY_EXTENSIONS = "library_extensions"
"""The field of a library document (a stored promotion, a catalog's daily chain) holding
what LiveOps payloads cannot carry."""
