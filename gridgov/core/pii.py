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


# Full-width digits and signs a resident may type with a Chinese input method, mapped one
# to one onto ASCII, so a match found in the mapped text has the same span in the original.
_FULL_WIDTH = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "\uff0b": "+",  # ＋
        "\uff0d": "-",  # －
        "\u3000": " ",  # ideographic space
        "\uff38": "X",  # Ｘ
        "\uff58": "x",  # ｘ
    }
)
_HAS_FULL_WIDTH = re.compile("[\uff0b\uff0d\uff10-\uff19\uff38\uff58\u3000]").search

# What counts as a number to hide, in one pattern so each text is scanned once:
# - an ID number: 18 characters (17 digits and a digit or X), written straight through or in
#   the groups people read it out in (6-8-4, 6-12, 14-4 or 4-4-4-4-2, spaces or hyphens),
#   or a 15-digit first-generation number (its date part, YYMMDD, must be a date); right
#   after a letter ("ID410205…") only when its birth date sits where it belongs;
# - a mobile number: 1[3-9] and 9 more digits, straight through or in groups of 3-4-4,
#   3-8, 7-4 or 4-3-4 (spaces, hyphens or dots), the first three in brackets or not, or
#   read out digit by digit with spaces, optionally after +86 / 0086 / 86 or the trunk 0
#   dialled from a landline;
# - a landline number: an area code (010 and 02x, then an 8-digit local number; 0[3-9]xx,
#   such as 0371 Kaifeng or 0374 Xuchang, then a 7- or 8-digit one), the code written
#   straight on, after a space or hyphen, or in half- or full-width brackets; a local number
#   starts with 2-9 and may be written in groups (4-4, or 3-4 for seven digits), the code
#   set apart by a space, a hyphen or dash (with spaces or not) or a dot; also after +86 or
#   0086 without the code's 0, and never right after a letter (SF0371…: an order number).
#   An extension after it (-123, 转123) is left as written: it is nothing without the
#   number. A local number without its area code is taken only after a phone label
#   (``_LABELLED_LOCAL``): eight digits alone are as likely a date or an order number.
# None may sit inside a longer run of digits (an ID number not next to a letter either, a
# landline not after a decimal point), so house numbers, dates, times, amounts, 6-digit
# codes and tracking codes (which have no 0) are left alone.
_NUMBER = re.compile(
    r"""
    (?=[0-9+(\uff08])  # lets the engine skip to candidate positions fast
    (?:
    (?P<id>
        (?<![0-9A-Za-z])
        (?:
            [0-9]{6}[ -]?[0-9]{8}[ -]?[0-9]{3}[0-9Xx]
          | [0-9]{4}(?P<s4>[ -])[0-9]{4}(?P=s4)[0-9]{4}(?P=s4)[0-9]{4}(?P=s4)[0-9][0-9Xx]
          | [0-9]{8}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}
        )
        (?![0-9A-Za-z])
      | (?<![0-9])  # after a label such as "ID": only with a birth date where it belongs
        [1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]
        (?![0-9])
    )
  |
    (?<![0-9+])
    (?P<prefix>(?:\+86|0086|86|0)[ -]?)?
    (?P<phone>
        (?P<pb>[(\uff08])?1[3-9][0-9](?(pb)[)\uff09])[ .-]?[0-9]{4}[ .-]?[0-9]{4}
      | 1[3-9][0-9]{2}[ .-]?[0-9]{3}[ .-]?[0-9]{4}
      | 1(?:[ ][0-9]){10}
    )
    (?![0-9])
  |
    (?=[0(\uff08+])(?<![0-9A-Za-z.+])  # a landline starts with its 0, a bracket or +86
    (?:
        (?P<bracket>[(\uff08])?
        (?P<area>0(?:(?P<area3>10|2[0-9])|[3-9][0-9]{2}))
      | (?P<intl>(?:\+86|0086)[ -]?)(?P<iarea>(?P<iarea3>10|2[0-9])|[3-9][0-9]{2})
    )
    (?(bracket)[)\uff09])[ ]?[-\u2013\u2014.]?[ ]?
    (?P<local>[2-9](?:
        [0-9]{3}[ -]?[0-9]{4}
      | (?(area3)(?!)|(?(iarea3)(?!)|[0-9]{2}[ -]?[0-9]{4}))
    ))
    (?![0-9])
    )
    """,
    re.VERBOSE | re.ASCII,
)
# A local landline number without its area code, right after a label saying it is one
# ("电话：2345 6789", "座机为23456789", "Tel 2345-6789"): 7 or 8 digits from 2-9.
_PHONE_LABELS = ("电话", "座机", "固话", "联系方式", "tel", "phone")
_HAS_PHONE_LABEL = re.compile("|".join(_PHONE_LABELS), re.IGNORECASE).search
_LABELLED_LOCAL = re.compile(
    r"(?:" + "|".join(_PHONE_LABELS) + r")(?:号码|号)?[ ]*(?:是|为)?[ ]*[:：]?[ ]*"
    r"(?P<local>[2-9][0-9]{2,3}[ -]?[0-9]{4})(?![0-9])",
    re.IGNORECASE | re.ASCII,
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", re.ASCII)

# Every form above holds three digits and then (after at most one separator) three more,
# or eleven digits read out one by one; a text without either and without an "@" (nearly
# every text) is returned after this one scan. ``\d`` is Unicode here, so full-width digits
# pass it too.
_MAY_HOLD_NUMBER = re.compile(r"\d{3}[ .\-\u3000\uff0d\uff09)]?\d{3}|\d(?:[ \u3000]\d){10}").search
_NOT_DIGIT = re.compile(r"[^0-9Xx]", re.ASCII)


def _digits(value: str) -> str:
    return _NOT_DIGIT.sub("", value)


def _mask_number(match: re.Match[str]) -> str:
    if number := match.group("id"):
        return mask_id_number(_digits(number))
    if local := match.group("local"):
        local = _digits(local)
        area = match.group("area") or match.group("intl") + match.group("iarea")
        return f"{area}-{'*' * (len(local) - 4)}{local[-4:]}"
    return (match.group("prefix") or "") + mask_phone(_digits(match.group("phone")))


def mask_text(text: str) -> str:
    """Mask the phone numbers (mobile and landline), ID numbers and e-mail addresses a resident
    may have typed into free text: 138****5678, 0371-****6789, 4102**********1234,
    w***@example.com. Numbers are found in the forms people write them (spaces or hyphens in
    the usual groups, +86, area codes in brackets, full-width digits, 15-digit ID numbers)
    and shown in the plain masked form: a landline keeps its area code and last four digits."""
    if not text:
        return ""
    has_number = _MAY_HOLD_NUMBER(text) is not None
    if not has_number and "@" not in text:
        return text
    if has_number:
        # Spans are found in the ASCII form (full-width digits mapped one to one, so the
        # spans are the original's) and the original is masked there.
        found = text.translate(_FULL_WIDTH) if _HAS_FULL_WIDTH(text) else text
        spans = [(m.start(), m.end(), _mask_number(m)) for m in _NUMBER.finditer(found)]
        if _HAS_PHONE_LABEL(found):
            for m in _LABELLED_LOCAL.finditer(found):
                local = _digits(m.group("local"))
                spans.append(
                    (m.start("local"), m.end("local"), "*" * (len(local) - 4) + local[-4:])
                )
            spans.sort()
        parts, end = [], 0
        for start, stop, masked in spans:
            if start >= end:  # a span inside one already masked is left to it
                parts += [text[end:start], masked]
                end = stop
        text = "".join(parts) + text[end:]
    if "@" in text:
        text = _EMAIL.sub(lambda m: mask_contact(m.group(0)), text)
    return text
