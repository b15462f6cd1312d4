"""Webhook jobs of the arq worker: fan-out from the outbox and signed delivery."""

from __future__ import annotations

from typing import Any

FUNCTIONS: list[Any] = []
CRON_JOBS: list[Any] = []
