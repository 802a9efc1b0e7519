"""The bus emulator speaks Feetech's protocol on a real pty: raw packets in, status packets out, bad checksums
ignored. (The driver's tests run against it; this checks the emulator itself against the protocol's bytes.)"""

import time

import serial

from chatvla2_lite.robots.so100.emulator import checksum, packet


def _exchange(port, raw: bytes, expect: int) -> bytes:
    port.reset_input_buffer()
    port.write(raw)
    deadline, got = time.monotonic() + 1.0, b""
    while len(got) < expect and time.monotonic() < deadline:
        got += port.read(expect - len(got))
    return got


def test_ping_read_write_and_a_damaged_request_as_the_protocol_says(arm):
    with serial.Serial(arm.port, 1_000_000, timeout=0.05) as port:
        assert _exchange(port, bytes([0xFF, 0xFF, 0x01, 0x02, 0x01, 0xFB]), 6) == bytes([0xFF, 0xFF, 1, 2, 0, 0xFC])
        # read Model_Number (address 3, 2 bytes) of servo 4: 777 little-endian
        reply = _exchange(port, packet(4, 0x02, [3, 2]), 8)
        assert reply[:5] == bytes([0xFF, 0xFF, 4, 4, 0]) and reply[5] | reply[6] << 8 == 777
        assert reply[7] == checksum(reply[2:7])
        bad = bytearray(packet(2, 0x01))
        bad[-1] ^= 0xFF
        assert _exchange(port, bytes(bad), 6) == b""  # a servo ignores what it cannot trust
        # sync read of Present_Position (56, 2 bytes) from 1, 2, 3: three status packets, in that order
        replies = _exchange(port, packet(0xFE, 0x82, [56, 2, 1, 2, 3]), 24)
        assert [replies[i * 8 + 2] for i in range(3)] == [1, 2, 3]
    assert arm.state()[1]["Present_Position"] == replies[5] | replies[6] << 8
