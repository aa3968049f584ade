"""The one console the command line writes messages to: standard error, never hard-wrapped
(a wrapped path or error message is hard to copy and breaks whoever reads it back)."""

from __future__ import annotations

from rich.console import Console

console = Console(stderr=True, soft_wrap=True)
