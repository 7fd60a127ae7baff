"""What every benchmark records about the machine it ran on (imported as ``_machine`` by the
scripts in this folder, which Python puts on ``sys.path`` when one is run as a script)."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (``lscpu``'s "Model name")."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()
