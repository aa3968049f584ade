"""Trade journal: strategies, trade records, profiles and public profiles (native API)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["journal"])
