"""Broadsheet: a static site generator for curated news digests."""

__version__ = "0.1.0"
