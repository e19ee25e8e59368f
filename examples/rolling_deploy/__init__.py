"""A rolling deploy behind a CDN, simulated with real servers on 127.0.0.1.

Run by ``make demo`` (``examples/demo.py``) and by ``tests/test_rolling_deploy.py``; explained in
``docs/rolling-deploys.md``. :mod:`.runner` holds the scenarios and the traffic, :mod:`.servers`
the processes (nginx, app servers, moto), :mod:`.releases` the two releases of the Flask example.
"""

from __future__ import annotations

from .runner import SCENARIOS, Counts, Scenario, Stack, format_table, run_scenario, run_simulation
from .servers import SimulationError

__all__ = [
    "SCENARIOS",
    "Counts",
    "Scenario",
    "SimulationError",
    "Stack",
    "format_table",
    "run_scenario",
    "run_simulation",
]
