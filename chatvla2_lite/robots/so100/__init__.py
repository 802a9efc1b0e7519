"""The SO-100 follower arm on a Feetech bus, in LeRobot's shape (config_so100.py, so100.py), with its helpers:
the STS3215 registers, LeRobot's calibration files, the safety limits, and a pty emulator of the bus for tests."""

from chatvla2_lite.robots.so100.config_so100 import SO100Config

__all__ = ["SO100Config"]
