"""Local HTTPS emulator of the Azure services the broker calls (never deployed).

See docs/emulator.md for the contract: `Emulator`, operation names, seed and environment.
"""

from emulator.core import MODES, Emulator
from emulator.seed import Seed

__all__ = ["MODES", "Emulator", "Seed"]
