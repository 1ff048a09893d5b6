"""Reusable test helpers: tiny real distributions and a local PEP 503 index over HTTP."""
