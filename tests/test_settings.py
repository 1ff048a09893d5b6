"""envctl.settings: one typed, documented field per environment variable, read lazily."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import envctl
from envctl import console, settings
from envctl.errors import EnvctlError

PACKAGE = Path(envctl.__file__).parent
README = PACKAGE.parent / "README.md"
TABLE = re.compile(r"<!-- settings-table:start -->\n(.*?)<!-- settings-table:end -->", re.S)

ENV_READ = re.compile(r"os\.environ\.get\(|os\.environ\[|os\.getenv\(|\bin os\.environ\b")
READS_ELSEWHERE = {
    "settings.py",  # the one place
    "crashpoints.py",  # test-only kill/stall hooks, not user settings
    "spec/indexes.py",  # ${VAR} references a spec writes into an index URL: the spec names them
}


def test_readme_table_is_generated_from_the_settings() -> None:
    match = TABLE.search(README.read_text(encoding="utf-8"))
    assert match, "README.md lacks the settings-table markers"
    assert match.group(1) == settings.markdown_table(), (
        "README's environment variable table is stale: regenerate it with "
        "`python -m envctl.settings --markdown`"
    )


def test_the_markdown_command_prints_the_table() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "envctl.settings", "--markdown"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == settings.markdown_table()


def test_no_module_reads_the_environment_by_hand() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in READS_ELSEWHERE or relative.startswith("testing/"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ENV_READ.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


def test_every_envctl_variable_named_in_the_code_is_a_setting() -> None:
    known = {s.name for s in settings.ALL}
    named = set()
    for path in PACKAGE.rglob("*.py"):
        named |= set(re.findall(r"\bENVCTL_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8")))
    unknown = {n for n in named - known if not n.startswith("ENVCTL_TEST_")}
    unknown -= {"ENVCTL_PYTHON_3_7", "ENVCTL_PYTHON_3_11"}  # examples of ENVCTL_PYTHON_X_Y
    assert unknown == set()
    assert len(known) == len(settings.ALL), "two settings share a variable name"


def test_values_are_read_when_asked_not_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENVCTL_TARGET", raising=False)
    assert settings.TARGET.get() is None
    monkeypatch.setenv("ENVCTL_TARGET", " local:///x ")
    assert settings.TARGET.get() == "local:///x"
    monkeypatch.setenv("ENVCTL_TARGET", "   ")
    assert settings.TARGET.get() is None, "a blank value counts as unset"


@pytest.mark.parametrize(
    ("setting", "raw", "expected"),
    [
        (settings.LEASE_TTL, "90", 90.0),
        (settings.LEASE_TTL, "2m", 120.0),
        (settings.ADHOC_TTL, "1.5h", 5400.0),
        (settings.RESOLVE_TTL, "0", 0.0),
        (settings.RESOLVE_TTL, "1d", 86400.0),
        (settings.MAX_SIZE_MB, "100", 100.0),
        (settings.RETRY_WAIT_SCALE, "0.01", 0.01),
        (
            settings.EXTRA_INDEX_URLS,
            " https://a/simple\nhttps://b/simple ",
            ("https://a/simple", "https://b/simple"),
        ),
        (settings.ROOT, "/some/repo", Path("/some/repo")),
        (settings.SOURCE_DATE_EPOCH, "not a number", 0),
        (settings.SOURCE_DATE_EPOCH, "1700000000", 1700000000),
        (settings.ACCESS_KEY_SECRET, " keep spaces ", " keep spaces "),
    ],
)
def test_each_value_is_parsed_to_its_type(
    monkeypatch: pytest.MonkeyPatch, setting: settings.Setting[object], raw: str, expected: object
) -> None:
    monkeypatch.setenv(setting.name, raw)
    assert setting.get() == expected


@pytest.mark.parametrize(
    ("setting", "raw"),
    [
        (settings.LEASE_TTL, "0s"),
        (settings.LEASE_TTL, "soon"),
        (settings.ADHOC_TTL, "1y"),
        (settings.WARN_SIZE_MB, "lots"),
        (settings.MAX_SIZE_MB, "-1"),
        (settings.RETRY_WAIT_SCALE, "1000"),
        (settings.RETRY_WAIT_SCALE, "fast"),
    ],
)
def test_a_malformed_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, setting: settings.Setting[object], raw: str
) -> None:
    monkeypatch.setenv(setting.name, raw)
    with pytest.raises(EnvctlError, match=re.escape(setting.name)) as caught:
        setting.get()
    assert "\n" not in str(caught.value)


def test_defaults_apply_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for s in settings.ALL:
        monkeypatch.delenv(s.name, raising=False)
    assert settings.LEASE_TTL.get() == 3600.0
    assert settings.PYTHON.get() == "3.11"
    assert settings.EXTRA_INDEX_URLS.get() == ()
    assert settings.MAX_SIZE_MB.get() == 2048.0


def test_interpreter_override_is_per_minor_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVCTL_PYTHON_3_7", "/opt/py37/bin/python")
    monkeypatch.delenv("ENVCTL_PYTHON_3_11", raising=False)
    assert settings.interpreter_override("3.7") == Path("/opt/py37/bin/python")
    assert settings.interpreter_override("3.11") is None


def test_the_runtime_snapshot_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVCTL_TARGET", "local:///a")
    before = settings.runtime_snapshot()
    monkeypatch.setenv("ENVCTL_TARGET", "local:///b")
    assert settings.runtime_snapshot() != before
    assert settings.runtime_snapshot() == settings.runtime_snapshot(), "equal settings, equal keys"
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "never-in-a-memo-key")
    assert "never-in-a-memo-key" not in repr(settings.runtime_snapshot())


def test_secret_values_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    for secret in settings.secrets():
        monkeypatch.setenv(secret.name, f"value-of-{secret.name}")
        assert f"value-of-{secret.name}" not in console.redact(f"got value-of-{secret.name} here")
