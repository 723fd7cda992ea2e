"""docs/configuration.md names every environment variable the code reads, and no other."""

from __future__ import annotations

import json
import re

from tests.conftest import ROOT

PAGE = ROOT / "docs" / "configuration.md"
CODE = [p for p in ("server", "providers", "ingest", "tasks", "render") if (ROOT / p).is_dir()]
# How the code reads a variable: settings helpers and os.environ/getenv take the name as their
# first argument; a module constant ending in _ENV holds one; click options name theirs.
_READ = re.compile(
    r"""(?:\b_(?:env|int|url|number|float|bool|origins)|environ\.get|getenv|environ\[)\(?\s*"([A-Z][A-Z0-9_]+)"
        |\b[A-Z_]*_ENV\s*=\s*"([A-Z][A-Z0-9_]+)"
        |\benvvar\s*=\s*"([A-Z][A-Z0-9_]+)\"""",
    re.VERBOSE,
)
_NAME = re.compile(r"`([A-Z][A-Z0-9_]+)`")


def _read_by_code() -> set[str]:
    names = set()
    for folder in CODE:
        for path in (ROOT / folder).rglob("*.py"):
            for match in _READ.finditer(path.read_text(encoding="utf-8")):
                names.add(next(name for name in match.groups() if name))
    config = json.loads((ROOT / "config.json").read_text())
    names |= {p["api_key_env"] for p in config["providers"].values() if p.get("api_key_env")}
    return names


def _documented() -> set[str]:
    """The names in the first column of the page's tables."""
    rows = (line for line in PAGE.read_text(encoding="utf-8").splitlines() if line.startswith("|"))
    return {name for row in rows for name in _NAME.findall(row.split("|")[1])}


def test_every_variable_the_code_reads_is_documented() -> None:
    documented = _documented()
    missing = sorted(_read_by_code() - documented)
    assert missing == [], f"add a row for each to {PAGE.relative_to(ROOT)}: {missing}"


def test_the_page_names_no_variable_the_code_does_not_read() -> None:
    documented = _documented()
    test_only = {"TEST_REDIS_URL"}  # read by tests/conftest.py
    unknown = sorted(documented - _read_by_code() - test_only)
    assert unknown == [], f"{PAGE.relative_to(ROOT)} names variables nothing reads: {unknown}"
