"""Desired state (specs + locks) against observed state (a target) -> a ``Plan`` -> apply.

The model (``state``, ``plan``, ``status``, ``retention.select``) is pure; reading, applying and the lease that
serialises writers are the I/O edges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envctl import lazy_exports

if TYPE_CHECKING:
    from envctl.deploy.state import State as State, EnvState as EnvState, VersionInfo as VersionInfo, archive_name as archive_name, parse_archive_name as parse_archive_name
    from envctl.deploy.state import Observed as Observed
    from envctl.deploy.observe import read_state as read_state, write_state as write_state
    from envctl.deploy.plan import Plan as Plan, Change as Change, DesiredEnv as DesiredEnv
    from envctl.deploy.desired import Desired as Desired, desired_state as desired_state, load_desired as load_desired
    from envctl.deploy.status import EnvStatus as EnvStatus, status as status
    from envctl.deploy.apply import Applier as Applier, ApplyResult as ApplyResult
    from envctl.deploy.lease import acquire as acquire, release as release, held as held, force_unlock as force_unlock, current_lease as current_lease
    from envctl.deploy.retention import GcPlan as GcPlan, GcResult as GcResult, collect as collect, select as select

__all__ = ['Applier', 'ApplyResult', 'Change', 'Desired', 'DesiredEnv', 'EnvState', 'EnvStatus', 'GcPlan', 'GcResult', 'Observed', 'Plan', 'State', 'VersionInfo', 'acquire', 'archive_name', 'collect', 'current_lease', 'desired_state', 'force_unlock', 'held', 'load_desired', 'parse_archive_name', 'read_state', 'release', 'select', 'status', 'write_state']

__getattr__ = lazy_exports(__name__, {
    'State': 'state',
    'EnvState': 'state',
    'VersionInfo': 'state',
    'archive_name': 'state',
    'parse_archive_name': 'state',
    'Observed': 'state',
    'read_state': 'observe',
    'write_state': 'observe',
    'Plan': 'plan',
    'Change': 'plan',
    'DesiredEnv': 'plan',
    'Desired': 'desired',
    'desired_state': 'desired',
    'load_desired': 'desired',
    'EnvStatus': 'status',
    'status': 'status',
    'Applier': 'apply',
    'ApplyResult': 'apply',
    'acquire': 'lease',
    'release': 'lease',
    'held': 'lease',
    'force_unlock': 'lease',
    'current_lease': 'lease',
    'GcPlan': 'retention',
    'GcResult': 'retention',
    'collect': 'retention',
    'select': 'retention',
})
