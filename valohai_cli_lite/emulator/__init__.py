"""A loopback emulator of Valohai's REST API for offline tests and demos (docs/emulator.md)."""

from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig, RecordedRequest

__all__ = ["Emulator", "EmulatorConfig", "RecordedRequest"]
