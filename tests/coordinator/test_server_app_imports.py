"""What the ServerApp's process imports: every run starts one (in simulation and on the
deployment engine), so a heavy import there is paid by every run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_server_app_loads_opacus_only_for_central_dp() -> None:
    """Opacus (and SciPy through it) cost about 2 CPU-seconds to import; the coordinator needs
    its accountant only for central DP's partner-level ε."""
    probe = (
        "import sys\n"
        "import coordinator.server_app\n"
        "print('opacus' in sys.modules)\n"
        "from coordinator.central_dp import CentralLedger\n"
        "from federation import RunSettings\n"
        "ledger = CentralLedger(RunSettings(central_dp=True))\n"
        "ledger.release()\n"
        "print(ledger.epsilon() > 0, 'opacus' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )

    assert result.stdout.split() == ["False", "True", "True"]
