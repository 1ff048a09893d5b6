"""Where things live: the repository root, its environments, locks and the local state dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional

from envctl import settings
from envctl.errors import EnvctlError

if TYPE_CHECKING:
    from envctl.spec.loader import Environment


@dataclass(frozen=True)
class Project:
    """An envctl repository: a directory holding ``environments/``."""

    root: Path

    @property
    def environments_dir(self) -> Path:
        return self.root / "environments"

    @property
    def state_dir(self) -> Path:
        """Machine-local working state (never committed): ``<root>/.envctl``."""
        return self.root / ".envctl"

    @property
    def store_dir(self) -> Path:
        """The embedded default target: a local directory store."""
        return self.state_dir / "store"

    def spec_path(self, name: str) -> Path:
        return self.environments_dir / f"{name}.yaml"

    def lock_path(self, name: str) -> Path:
        """PEP 751 lock file beside the spec: ``environments/pylock.<name>.toml``."""
        return self.environments_dir / f"pylock.{name}.toml"

    def require_environments_dir(self) -> Path:
        """``environments/``, or the one-line error every command gives outside a repository."""
        if not self.environments_dir.is_dir():
            raise EnvctlError(
                f"no environments/ directory in {self.root}; "
                "run envctl from your repository or pass --root"
            )
        return self.environments_dir

    def environments(self, names: Optional[Iterable[str]] = None) -> dict[str, Environment]:
        """Validated environments of this project; any spec problem is an EnvctlError."""
        from envctl.spec.loader import (
            load_project_environments,
        )  # jsonschema: only when specs are read

        return load_project_environments(self.require_environments_dir(), names)


def find_project(start: Optional[Path] = None) -> Project:
    """The project for ``--root``/``ENVCTL_ROOT``, else the nearest ancestor with ``environments/``.

    Falls back to the starting directory so commands that create files still have a root.
    """
    explicit = start or settings.ROOT.get()
    if explicit is not None:
        if not explicit.is_dir():
            raise EnvctlError(f"project root {explicit} is not a directory")
        return Project(explicit.resolve())
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "environments").is_dir():
            return Project(candidate)
    return Project(here)


def cache_dir() -> Path:
    """Content-addressed cache shared by all projects of a user (``ENVCTL_CACHE_DIR`` to move
    it).
    """
    explicit = settings.CACHE_DIR.get()
    if explicit is not None:
        return explicit
    return (settings.XDG_CACHE_HOME.get() or Path.home() / ".cache") / "envctl"
