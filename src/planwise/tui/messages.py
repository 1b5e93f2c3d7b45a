"""Typed messages that workers post back to the interface thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class WorkFailed(Message):
    """A worker's call failed; `text` is safe to show (ids only, no client data)."""

    text: str


@dataclass
class CaseloadLoaded(Message):
    rows: list[Any]
    total: int
    search: str
    attention_only: bool = False


@dataclass
class AttentionLoaded(Message):
    """Client id -> the dashboard's row (flags most urgent first, reasons)."""

    rows: dict[int, dict[str, Any]]
    seq: int = 0
