"""A local emulator of the MaxCompute REST API subset pyodps uses for resources.

Like moto or LocalStack: tests and offline development point the real, unmodified pyodps
client at :attr:`Emulator.endpoint` and get MaxCompute's wire behaviour (XML errors, meta
headers, marker pagination, temp resources, chunked part+merge uploads) plus fault
injection and request counters.

In-process::

    with Emulator(tmp_dir) as emu:                      # or the odps_emulator fixture
        odps = ODPS("ak", "sk", project="p", endpoint=emu.endpoint)
        emu.faults.fail(500, method="POST", kind="create", nth=2)   # 2nd create -> 500
        emu.faults.delay(0.5, kind="meta")                          # every ?meta +0.5 s
        emu.faults.drop(kind="part", after_bytes=1 << 20)           # cut a part upload
        emu.stats.count(kind="list")                                # list requests so far
        emu.configure(list_page_size=10, max_resource_size=1 << 20)
        emu.reset(data=False)                                       # faults + counters

Over HTTP (for envctl running in a subprocess): every request carries the run's token
(``X-Envctl-Emulator-Token``, printed by ``envctl emulator``; ``Emulator.control_headers()``
in-process) and JSON bodies only::

    POST   /_emulator/faults  {"action": "error", "status": 503, "kind": "merge",
                               "nth": 1, "times": 1}
    GET    /_emulator/faults  -> rules with their "seen"/"fired" counts
    DELETE /_emulator/faults
    GET    /_emulator/stats   -> {"total": n, "requests": {"GET list": 3, ...}, "bytes_in": .., ...}
    POST   /_emulator/reset   {"data": true}   (data: also forget every resource)
    GET|POST /_emulator/config {"list_page_size": 10, "max_resource_size": 1048576,
                                "meta_md5": "hex" | "base64" | "absent"}
"""

from envctl.emulator.faults import FaultRule
from envctl.emulator.handler import TOKEN_HEADER
from envctl.emulator.server import Emulator

__all__ = ["TOKEN_HEADER", "Emulator", "FaultRule"]
