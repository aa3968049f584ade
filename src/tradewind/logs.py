"""Logging configured once: structlog over the standard library, request ids bound per request.

Nothing here logs headers or bodies, so secrets never reach a log line.
"""

from __future__ import annotations

import logging
import sys

import structlog

_configured = False


class _Stderr:
    """``sys.stderr`` as it is when a line is written, not when logging was configured (a
    test runner or a CLI harness swaps it, and may close the one it swapped in)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    # Plain tracebacks, without the frames' local variables (rich's pretty ones showed them:
    # request headers, API keys and exchange secrets must never reach a log; and rendering
    # one took over a second).
    renderer: list[structlog.types.Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
        if json
        else [
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            )
        ]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(
        level=level.upper(), stream=_Stderr(), format="%(levelname)s %(name)s %(message)s"
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]
