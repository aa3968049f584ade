"""The document writes every path with a trailing slash; clients send it with and without."""

from __future__ import annotations

PREFIX = "/compat/trynquant/api/v1"


def both(path: str) -> list[str]:
    """``path`` and, when it ends in a slash, the same path without it (that one unlisted)."""
    return [path, path.rstrip("/")] if path.endswith("/") else [path]
