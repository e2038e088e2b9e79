"""Ids derived from content (notifications, message ids): deterministic, so a retry is the same row."""

from __future__ import annotations

import hashlib


def hash_id(text: str) -> str:
    """md5 of ``text`` as four dash-separated groups of 8 hex digits: an id that can never hold an
    11-digit run a mobile-number scan would flag (a bare md5 hex can). ``dashed_md5_sql`` is its SQL twin."""
    h = hashlib.md5(text.encode()).hexdigest()
    return "-".join(h[i:i + 8] for i in range(0, 32, 8))


def dashed_md5_sql(expr: str) -> str:
    """SQL twin of ``hash_id`` for the text expression ``expr``."""
    h = f"md5({expr})"
    return " || '-' || ".join(f"substr({h}, {i + 1}, 8)" for i in range(0, 32, 8))
