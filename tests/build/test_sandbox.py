"""The isolated venv ``exec`` and ``verify`` run in: only the given roots and provided packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from envctl.build import sandbox


def fake_site(root: Path) -> Path:
    """A site-packages with two installed distributions, ``provided`` and ``other``."""
    site = root / "site-packages"
    for name in ("provided", "other"):
        (site / name).mkdir(parents=True)
        (site / name / "__init__.py").write_text(f"NAME = {name!r}\n")
        dist_info = site / f"{name}-1.0.dist-info"
        dist_info.mkdir()
        (dist_info / "RECORD").write_text(f"{name}/__init__.py,,\n{name}-1.0.dist-info/RECORD,,\n")
    return site


def test_only_excluded_distributions_are_linked(tmp_path):
    site = fake_site(tmp_path)
    linked = sandbox.link_distributions([site], ["Provided"], tmp_path / "provided-dir")
    assert linked == ["provided"]
    assert sorted(p.name for p in (tmp_path / "provided-dir").iterdir()) == [
        "provided",
        "provided-1.0.dist-info",
    ]


def test_sandbox_python_sees_its_roots_and_provided_packages_only(tmp_path, monkeypatch):
    site = fake_site(tmp_path)
    monkeypatch.setattr(sandbox, "host_site_dirs", lambda interpreter: [site])
    packages = tmp_path / "packages"
    (packages / "mine").mkdir(parents=True)
    (packages / "mine" / "__init__.py").write_text("")
    box = sandbox.create(Path(sys.executable), [packages], tmp_path / "venv", excluded=["provided"])
    code = (
        "import importlib.util as u; "
        "print([u.find_spec(m) is not None for m in ('mine', 'provided', 'other', 'yaml')])"
    )
    env = box.env({"PATH": "/usr/bin", "PYTHONPATH": str(site)})
    out = subprocess.run(
        [str(box.python), "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[True, True, False, False]"
