"""A local emulator of the MaxCompute REST API subset pyodps uses for resources.

Like moto or LocalStack: tests and offline development point the real, unmodified pyodps
client at :attr:`Emulator.endpoint` and get MaxCompute's wire behaviour (XML errors, meta
headers, pagination, chunked merge) plus fault injection and request counters.
"""

from envctl.emulator.faults import FaultRule
from envctl.emulator.server import Emulator

__all__ = ["Emulator", "FaultRule"]
