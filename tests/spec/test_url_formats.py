"""Index URL checks do not depend on which optional packages are installed."""

from __future__ import annotations

from pathlib import Path

from envctl.spec import loader


def test_variable_credentials_validate_even_with_jsonschema_uri_checkers_installed(
    tmp_path: Path,
) -> None:
    # cyclonedx-python-lib[json-validation] (a test dependency) installs rfc3986-validator,
    # which turns jsonschema's "uri" format on: "${VAR}" is not URI syntax.
    url = "https://${PYPI_USER}:${PYPI_TOKEN}@pypi.example.com/simple"
    (tmp_path / "nlp.yaml").write_text(
        f'name: nlp\npython: "3.11"\nindex_url: {url}\nextra_index_urls: ["{url}"]\n'
    )
    result = loader.load_environments([tmp_path])
    assert result.problems == []
    assert result.environments["nlp"].index_url == url


def test_only_envctls_own_formats_are_checked() -> None:
    assert set(loader._FORMATS.checkers) == {"pep508-requirements"}
