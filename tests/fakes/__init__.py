"""Fakes of the outside world for tests: exchanges served on 127.0.0.1."""
