"""Masking of residents' personal data. Lists and exports show only masked forms."""

from __future__ import annotations

import re


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


def mask_contact(value: str) -> str:
    """A message recipient: an e-mail keeps its first letter and its domain; anything else
    (a phone, a WeChat id) is masked as a phone."""
    local, at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if at else mask_phone(value)


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


_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


# Both a mobile number and an ID number hold a run of at least 11 digits: a text without one
# (nearly every text) is returned after this one scan.
_LONG_DIGITS = re.compile(r"\d{11}").search


def mask_text(text: str) -> str:
    """Mask phone and ID numbers a resident may have typed into free text."""
    if not text or not _LONG_DIGITS(text):
        return text or ""
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)
