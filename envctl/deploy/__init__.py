"""Desired state (specs + locks) against observed state (a target) -> a ``Plan`` -> apply.

The model (``state``, ``plan``, ``status``, ``retention.select``) is pure; reading, applying and
the lease that serialises writers are the I/O edges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envctl import lazy_exports

if TYPE_CHECKING:
    from envctl.deploy.apply import Applier as Applier
    from envctl.deploy.apply import ApplyResult as ApplyResult
    from envctl.deploy.desired import (
        Desired as Desired,
    )
    from envctl.deploy.desired import (
        desired_state as desired_state,
    )
    from envctl.deploy.desired import (
        load_desired as load_desired,
    )
    from envctl.deploy.lease import (
        acquire as acquire,
    )
    from envctl.deploy.lease import (
        current_lease as current_lease,
    )
    from envctl.deploy.lease import (
        force_unlock as force_unlock,
    )
    from envctl.deploy.lease import (
        held as held,
    )
    from envctl.deploy.lease import (
        release as release,
    )
    from envctl.deploy.observe import read_state as read_state
    from envctl.deploy.observe import write_state as write_state
    from envctl.deploy.plan import Change as Change
    from envctl.deploy.plan import DesiredEnv as DesiredEnv
    from envctl.deploy.plan import Plan as Plan
    from envctl.deploy.retention import (
        GcPlan as GcPlan,
    )
    from envctl.deploy.retention import (
        GcResult as GcResult,
    )
    from envctl.deploy.retention import (
        collect as collect,
    )
    from envctl.deploy.retention import (
        select as select,
    )
    from envctl.deploy.state import (
        EnvState as EnvState,
    )
    from envctl.deploy.state import Observed as Observed
    from envctl.deploy.state import (
        State as State,
    )
    from envctl.deploy.state import (
        VersionInfo as VersionInfo,
    )
    from envctl.deploy.state import (
        archive_name as archive_name,
    )
    from envctl.deploy.state import (
        parse_archive_name as parse_archive_name,
    )
    from envctl.deploy.status import EnvStatus as EnvStatus
    from envctl.deploy.status import status as status

__all__ = [
    "Applier",
    "ApplyResult",
    "Change",
    "Desired",
    "DesiredEnv",
    "EnvState",
    "EnvStatus",
    "GcPlan",
    "GcResult",
    "Observed",
    "Plan",
    "State",
    "VersionInfo",
    "acquire",
    "archive_name",
    "collect",
    "current_lease",
    "desired_state",
    "force_unlock",
    "held",
    "load_desired",
    "parse_archive_name",
    "read_state",
    "release",
    "select",
    "status",
    "write_state",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "State": "state",
        "EnvState": "state",
        "VersionInfo": "state",
        "archive_name": "state",
        "parse_archive_name": "state",
        "Observed": "state",
        "read_state": "observe",
        "write_state": "observe",
        "Plan": "plan",
        "Change": "plan",
        "DesiredEnv": "plan",
        "Desired": "desired",
        "desired_state": "desired",
        "load_desired": "desired",
        "EnvStatus": "status",
        "status": "status",
        "Applier": "apply",
        "ApplyResult": "apply",
        "acquire": "lease",
        "release": "lease",
        "held": "lease",
        "force_unlock": "lease",
        "current_lease": "lease",
        "GcPlan": "retention",
        "GcResult": "retention",
        "collect": "retention",
        "select": "retention",
    },
)
