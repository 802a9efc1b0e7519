"""The STS3215's control table (the registers this driver uses) and its sign-magnitude encoding.

Addresses and sizes are Feetech's STS/SMS series table (the same LeRobot's feetech/tables.py lists). Values above
address 40 live in SRAM; below it in EEPROM, which takes writes only while Lock (55) is 0.
"""

from __future__ import annotations

MODEL_NUMBER_STS3215 = 777
RESOLUTION = 4096  # encoder ticks per turn
MAX_TICK = RESOLUTION - 1
BAUDRATES = {1_000_000: 0, 500_000: 1, 250_000: 2, 128_000: 3, 115_200: 4, 57_600: 5, 38_400: 6, 19_200: 7}

# name: (address, bytes)
REGISTERS = {
    "Firmware_Major_Version": (0, 1),
    "Firmware_Minor_Version": (1, 1),
    "Model_Number": (3, 2),
    "ID": (5, 1),
    "Baud_Rate": (6, 1),
    "Return_Delay_Time": (7, 1),  # in 2 µs units; the factory's 250 (500 µs) slows every read six times over
    "Min_Position_Limit": (9, 2),
    "Max_Position_Limit": (11, 2),
    "Max_Torque_Limit": (16, 2),
    "Phase": (18, 1),
    "P_Coefficient": (21, 1),
    "D_Coefficient": (22, 1),
    "I_Coefficient": (23, 1),
    "Protection_Current": (28, 2),
    "Homing_Offset": (31, 2),
    "Operating_Mode": (33, 1),
    "Overload_Torque": (36, 1),
    "Torque_Enable": (40, 1),
    "Acceleration": (41, 1),
    "Goal_Position": (42, 2),
    "Goal_Velocity": (46, 2),
    "Lock": (55, 1),
    "Present_Position": (56, 2),
    "Present_Velocity": (58, 2),
    "Present_Load": (60, 2),
    "Present_Voltage": (62, 1),
    "Present_Temperature": (63, 1),
    "Moving": (66, 1),
}
EEPROM_END = 40  # addresses below are EEPROM

# Registers whose values are sign-magnitude, and the bit that holds the sign.
SIGN_BITS = {
    "Homing_Offset": 11,
    "Goal_Position": 15,
    "Goal_Velocity": 15,
    "Present_Position": 15,
    "Present_Velocity": 15,
    "Present_Load": 10,
}

# Status packet error bits, in the words a user can act on.
STATUS_ERRORS = {
    0x01: "input voltage out of range",
    0x02: "angle sensor error",
    0x04: "overheat",
    0x08: "overcurrent",
    0x20: "overload",
}


def address(name: str) -> tuple[int, int]:
    """(address, size in bytes) of a register by name."""
    return REGISTERS[name]


def encode(name: str, value: int) -> int:
    """The raw register value of a signed `value` (sign-magnitude where the register is)."""
    value = int(value)
    bit = SIGN_BITS.get(name)
    if bit is None:
        if value < 0:
            raise ValueError(f"{name} takes no negative values, got {value}")
        return value
    magnitude = abs(value)
    if magnitude >= 1 << bit:
        raise ValueError(f"{name}: |{value}| does not fit in {bit} bits")
    return (1 << bit) | magnitude if value < 0 else magnitude


def decode(name: str, raw: int) -> int:
    """The signed value of a raw register value."""
    bit = SIGN_BITS.get(name)
    if bit is None:
        return int(raw)
    magnitude = raw & ((1 << bit) - 1)
    return -magnitude if (raw >> bit) & 1 else magnitude


def to_bytes(value: int, size: int) -> list[int]:
    """Little-endian bytes of a raw value (the STS series' byte order)."""
    return [(value >> (8 * i)) & 0xFF for i in range(size)]


def from_bytes(data) -> int:
    """The raw value of little-endian bytes."""
    return sum(int(b) << (8 * i) for i, b in enumerate(data))


def status_error_text(error: int) -> str:
    """The hardware errors a status packet's error byte reports, in words."""
    return ", ".join(text for bit, text in STATUS_ERRORS.items() if error & bit) or f"error bits 0x{error:02x}"
