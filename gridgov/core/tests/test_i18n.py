"""English works: the catalogue is complete and compiled, and pages switch language.

Chinese is the source language (msgids are Chinese) and the default; English comes from
gridgov/locale/en/LC_MESSAGES/django.po, compiled to django.mo (committed).
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
PO = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
MO = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.mo"
# Chinese characters, and the full-width punctuation that goes with them (：，（）；。、).
CJK = re.compile(r"[\u4e00-\u9fff\uff1a\uff0c\uff08\uff09\uff1b\u3002\u3001]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False
    line: int = 0


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: enough for Django's makemessages output (no header entry)."""
    entries: list[Entry] = []
    cur: Entry | None = None
    target: tuple[str, int | None] | None = None

    def finish() -> None:
        if cur is not None and (cur.msgid or cur.msgstr):
            entries.append(cur)

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#~"):
            if cur is None or target is not None:
                finish()
                cur, target = Entry(obsolete=True, line=number), None
            cur.obsolete = True
            continue
        if line.startswith("#,"):
            if target is not None:
                finish()
                cur, target = None, None
            cur = cur or Entry(line=number)
            cur.flags.update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith("#"):
            if target is not None:
                finish()
                cur, target = None, None
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            value, keyword = ast.literal_eval(line), None
        else:
            value = ast.literal_eval(rest)
        if keyword in ("msgctxt", "msgid") and target is not None and target[0] == "msgstr":
            finish()
            cur = None
        if cur is None:
            cur = Entry(line=number)
        if keyword is None:
            assert target is not None, f"{path}:{number}: continuation without keyword"
        elif keyword.startswith("msgstr["):
            target = ("msgstr", int(keyword[7:-1]))
            cur.msgstr[target[1]] = ""
        elif keyword == "msgstr":
            target = ("msgstr", 0)
            cur.msgstr[0] = ""
        elif keyword in ("msgid", "msgid_plural", "msgctxt"):
            target = (keyword, None)
            setattr(cur, keyword, "")
        else:
            raise AssertionError(f"{path}:{number}: unexpected line {raw!r}")
        name, index = target
        if name == "msgstr":
            cur.msgstr[index] += value
        else:
            setattr(cur, name, getattr(cur, name) + value)
    finish()
    return [e for e in entries if e.msgid and not e.obsolete]


def describe(entries: list[Entry]) -> str:
    return "\n".join(f"  line {e.line}: {e.msgid!r}" for e in entries[:40])


# --- (a) the catalogue ----------------------------------------------------------------------------


def test_po_reader_sees_plural_context_and_fuzzy(tmp_path):
    sample = tmp_path / "x.po"
    sample.write_text(
        'msgid ""\nmsgstr ""\n"Language: en\\n"\n\n'
        '#: a.py:1\nmsgid "网格"\nmsgstr "Grid"\n\n'
        '#, fuzzy, python-format\nmsgid "%(n)s 个"\nmsgid_plural "%(n)s 个"\n'
        'msgstr[0] "%(n)s item"\nmsgstr[1] ""\n"%(n)s items"\n\n'
        'msgctxt "verb"\nmsgid "派遣"\nmsgstr ""\n',
        encoding="utf-8",
    )
    grid, plural, ctx = parse_po(sample)
    assert (grid.msgid, grid.msgstr) == ("网格", {0: "Grid"})
    assert "fuzzy" in plural.flags and plural.msgstr == {0: "%(n)s item", 1: "%(n)s items"}
    assert (ctx.msgctxt, ctx.msgid, ctx.msgstr) == ("verb", "派遣", {0: ""})


def test_english_catalogue_has_entries():
    entries = parse_po(PO)
    assert len(entries) > 300
    assert any(e.msgid == "网格" for e in entries)


def test_english_catalogue_has_no_untranslated_entries():
    untranslated = [
        e for e in parse_po(PO) if not e.msgstr or not all(v.strip() for v in e.msgstr.values())
    ]
    assert not untranslated, (
        f"{len(untranslated)} untranslated entries in {PO}:\n{describe(untranslated)}"
    )


def test_english_catalogue_has_no_fuzzy_entries():
    fuzzy = [e for e in parse_po(PO) if "fuzzy" in e.flags]
    assert not fuzzy, f"{len(fuzzy)} fuzzy entries (skipped by compilemessages):\n{describe(fuzzy)}"


def test_english_translations_are_english_and_keep_placeholders():
    bad = []
    for e in parse_po(PO):
        for index, text in e.msgstr.items():
            source = e.msgid_plural if (index and e.msgid_plural) else e.msgid
            if CJK.search(text) or sorted(PLACEHOLDER.findall(text)) != sorted(
                PLACEHOLDER.findall(source)
            ):
                bad.append(e)
    assert not bad, f"translations with Chinese text or changed placeholders:\n{describe(bad)}"


def test_compiled_catalogue_matches_po():
    """django.mo is committed; it must be recompiled whenever django.po changes."""
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for e in parse_po(PO):
        key = f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt else e.msgid
        if e.msgid_plural:
            got = {
                0: compiled.ngettext(key, e.msgid_plural, 1),
                1: compiled.ngettext(key, e.msgid_plural, 2),
            }
        else:
            got = {0: compiled.gettext(key)}
        if got != e.msgstr:
            stale.append(e)
    assert not stale, (
        f"django.mo is out of date for {len(stale)} entries; run `manage.py compilemessages`"
        f" from gridgov/:\n{describe(stale)}"
    )


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext tools not installed")
def test_every_string_in_the_code_is_in_the_english_catalogue(tmp_path, settings, monkeypatch):
    """Extract the strings afresh: a new string added without an English translation fails."""
    # Work on a symlink to the source under tmp_path, so that makemessages writes only to the
    # temporary LOCALE_PATHS (never to the repository's catalogue, whose "locale" is ignored).
    settings.LOCALE_PATHS = [str(tmp_path / "locale")]
    work = tmp_path / "work"
    work.mkdir()
    (work / "gridgov").symlink_to(LOCALE_DIR.parent, target_is_directory=True)
    monkeypatch.chdir(work)
    call_command(
        "makemessages",
        locale=["en"],
        verbosity=0,
        no_obsolete=True,
        symlinks=True,
        ignore_patterns=["locale", "static", "node_modules", "__pycache__"],
    )
    fresh = parse_po(tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.po")
    assert len(fresh) > 300  # the extraction really ran over the source
    known = {(e.msgctxt, e.msgid) for e in parse_po(PO)}
    missing = [e for e in fresh if (e.msgctxt, e.msgid) not in known]
    assert not missing, (
        f"{len(missing)} strings have no English translation yet. From gridgov/ run "
        "`../.venv/bin/python ../manage.py makemessages -l en --no-obsolete`, translate them in "
        f"{PO.relative_to(LOCALE_DIR.parent.parent)}, then compilemessages:\n{describe(missing)}"
    )


# What a template may hold outside its translate tags: comments, and Chinese only inside
# {% translate "…" %}, {% blocktranslate %}…{% endblocktranslate %} or _("…").
TRANSLATED_OR_COMMENT = [
    re.compile(pattern, re.S)
    for pattern in (
        r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}",
        r"\{#.*?#\}",
        r"\{%\s*blocktranslate\b.*?\{%\s*endblocktranslate\s*%\}",
        r"\{%\s*translate\s+(\"[^\"]*\"|'[^']*').*?%\}",
        r"_\((\"[^\"]*\"|'[^']*')\)",
    )
]


def test_no_template_shows_chinese_outside_a_translate_tag():
    found = []
    for path in sorted(LOCALE_DIR.parent.rglob("templates/**/*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in TRANSLATED_OR_COMMENT:
            text = pattern.sub("", text)
        found += [
            f"{path.name}: {line.strip()[:120]}" for line in text.splitlines() if CJK.search(line)
        ]
    assert not found, "Chinese text that English pages would show as is:\n" + "\n".join(found)


# Names makemessages (xgettext) extracts from Python; another alias hides strings from it.
EXTRACTED_NAMES = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}


def test_gettext_is_imported_under_names_that_makemessages_extracts():
    root = LOCALE_DIR.parent
    bad = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
                for alias in node.names:
                    if (alias.asname or alias.name) not in EXTRACTED_NAMES and "gettext" in (
                        alias.name
                    ):
                        bad.append(
                            f"{path.relative_to(root)}:{node.lineno} {alias.name} as {alias.asname}"
                        )
    assert not bad, (
        "strings wrapped in these aliases are never extracted, so they stay Chinese in English; "
        "import as _ / gettext_lazy instead:\n" + "\n".join(bad)
    )


# --- (b) pages render in English --------------------------------------------------------------


def english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.mark.django_db
def test_login_page_default_is_chinese(client):
    html = client.get(reverse("accounts:login")).content.decode()
    assert 'lang="zh-hans"' in html
    assert "用户名" in html and "密码" in html
    assert "Username" not in html


@pytest.mark.django_db
def test_login_page_in_english_with_language_cookie(client):
    english(client)
    html = client.get(reverse("accounts:login")).content.decode()
    assert 'lang="en"' in html
    for label in ("Sign in", "Username", "Password", "Party-led · Grid Governance"):
        assert label in html
    for label in ("登录", "用户名", "密码", "党建引领"):
        assert label not in html


@pytest.mark.django_db
def test_login_page_in_english_with_accept_language(client):
    html = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content
    html = html.decode()
    assert "Username" in html and "用户名" not in html


@pytest.mark.django_db
def test_wrong_password_message_in_english(client, personas):
    english(client)
    response = client.post(reverse("accounts:login"), {"username": "worker_a", "password": "x"})
    html = response.content.decode()
    assert "Incorrect username or password" in html
    assert "用户名或密码不正确" not in html


@pytest.mark.django_db
def test_home_page_in_english_for_a_signed_in_street_official(client, personas):
    client.force_login(personas.street_official)
    english(client)
    html = client.get(reverse("home")).content.decode()
    for label in ("Workbench", "Home", "Sign out", "Street official", "Jurisdiction"):
        assert label in html, label
    assert "Grid map" in html and "Regions and grids" in html
    for label in ("工作台", "网格地图", "辖区网格", "退出", "街道干部", "管辖范围"):
        assert label not in html, label
    # Data stays as entered: the jurisdiction's own name is Chinese.
    assert "三里堡街道" in html


@pytest.mark.django_db
def test_home_page_default_is_chinese(client, personas):
    client.force_login(personas.street_official)
    html = client.get(reverse("home")).content.decode()
    assert "工作台" in html and "网格地图" in html and "街道干部" in html
    assert "Workbench" not in html and "Grid map" not in html


@pytest.mark.django_db
def test_grid_tree_page_in_english_and_out_of_scope_grid_still_404(client, personas):
    english(client)
    client.force_login(personas.worker_b)
    html = client.get(reverse("territory:tree")).content.decode()
    assert "Regions and grids" in html and "辖区网格" not in html
    # worker_b (community B) must not see community A's grid, in any language.
    response = client.get(reverse("territory:grid_detail", args=["410205001001-01"]))
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lang", "expected", "absent"),
    [
        (
            "en",
            ["Invalid input", "Grid level must be a whole number from 1 to 5", "(field: level)"],
            ["输入有误", "字段"],
        ),
        (
            "zh-hans",
            ["输入有误", "网格层级须为 1 到 5 的整数", "（字段：level）"],
            ["Invalid input"],
        ),
    ],
)
def test_error_page_message_follows_the_language(client, personas, lang, expected, absent):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    client.force_login(personas.street_official)
    response = client.get(reverse("territory:map"), {"level": "9"})
    assert response.status_code == 400
    html = response.content.decode()
    for text in expected:
        assert text in html, text
    for text in absent:
        assert text not in html, text


@pytest.mark.django_db
def test_api_error_messages_follow_the_language(client, personas):
    client.force_login(personas.street_official)
    response = client.get("/api/v1/appeals/", {"cursor": "zzz"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "Invalid cursor",
        "field": "cursor",
    }
    response = client.get("/api/v1/no-such-thing", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["error"]["message"] == "No such endpoint"
    response = client.get("/api/v1/appeals/", {"cursor": "zzz"})
    assert response.json()["error"]["message"] == "游标无效"


# --- (c) switching language -------------------------------------------------------------------


@pytest.mark.django_db
def test_set_language_view_switches_to_english_and_back(client, personas):
    client.force_login(personas.worker_a)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = client.get("/").content.decode()
    assert "Workbench" in html and "工作台" not in html

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    html = client.get("/").content.decode()
    assert "工作台" in html and "Workbench" not in html


@pytest.mark.django_db
def test_set_language_ignores_unknown_language(client):
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies
    html = client.get(reverse("accounts:login")).content.decode()
    assert "用户名" in html


@pytest.mark.django_db
def test_each_language_is_offered_under_its_own_name(client):
    """Someone who reads no Chinese finds "English" on a Chinese page (not "英语")."""
    chinese = client.get(reverse("accounts:login")).content.decode()
    assert ">English</option>" in chinese and "英语" not in chinese
    english(client)
    html = client.get(reverse("accounts:login")).content.decode()
    assert ">简体中文</option>" in html and "Simplified Chinese" not in html


@pytest.mark.parametrize(
    ("data", "zh", "en"),
    [
        ({"duplicate_candidates": [7]}, "疑似重复 1 件", "1 possible duplicate"),
        ({"duplicate_candidates": [7, 8]}, "疑似重复 2 件", "2 possible duplicates"),
        ({"working_days": 1, "approved": True}, "1 个工作日；已批准", "1 working day; Approved"),
    ],
)
def test_history_details_count_in_the_readers_language(data, zh, en):
    from types import SimpleNamespace

    from gridgov.appeals.views import _event_detail

    event = SimpleNamespace(data=data)
    with translation.override("zh-hans"):
        assert _event_detail(event) == zh
    with translation.override("en"):
        assert _event_detail(event) == en
