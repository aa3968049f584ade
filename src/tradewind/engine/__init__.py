"""Runtime machinery: the event bus now; the bot runners and supervisor later."""
