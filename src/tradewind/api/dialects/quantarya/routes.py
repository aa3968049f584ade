"""Quantarya's endpoints under ``/compat/quantarya``."""

from __future__ import annotations

from fastapi import APIRouter

from tradewind.api.dialects.quantarya.envelope import PREFIX

router = APIRouter(prefix=PREFIX, tags=["quantarya"])
