"""Use-cases shared by every front door (native API, dialects, CLI). Services never commit."""
