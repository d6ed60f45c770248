"""Masking of residents' personal data. Lists and exports show only masked forms."""

from __future__ import annotations


def mask_phone(value: str) -> str:
    if not value:
        return ""
    if len(value) <= 7:
        return value[:1] + "*" * (len(value) - 1)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_id_number(value: str) -> str:
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_name(value: str) -> str:
    if not value:
        return ""
    return value[:1] + "*" * max(1, len(value) - 1)


def mask_address(value: str) -> str:
    """Keep the compound/building part, hide the room number (digits at the end)."""
    if not value:
        return ""
    head = value.rstrip("0123456789室号-")
    if head == value:
        return value[: max(1, len(value) // 2)] + "***"
    return head + "***"
