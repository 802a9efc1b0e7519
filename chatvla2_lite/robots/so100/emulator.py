"""An emulator of six STS3215 servos on a Feetech bus, served on a pseudo-terminal, so the real driver (pyserial and
scservo_sdk) opens a real serial device and runs its real code path without an arm.

It answers protocol-0 packets (FF FF id length instruction params checksum) as the servos do: ping, read, write, sync
read (each servo answers in turn) and sync write (no answer); it verifies checksums and ignores damaged requests;
its Present_Position registers move toward their goals at a set speed while torque is on; EEPROM takes writes only
while Lock is 0; replies take the time their bytes need on the wire at the servos' baud rate plus each servo's
Return_Delay_Time. Faults are injected through a control channel: a servo that stops answering, damaged checksums, the
port vanishing (and coming back), a stuck joint, a joint moved by hand.

Run as a process: `python -m chatvla2_lite.robots.so100.emulator --link PATH` creates the pty, points the symlink PATH
at it (the way /dev/serial/by-id names a USB adapter) and reads JSON commands on stdin, one a line, answering each
with one JSON line on stdout (emulated_arm.EmulatedArm is the client).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import sys
import time
import tty

from chatvla2_lite.robots.so100 import registers as reg

PING, READ, WRITE, SYNC_READ, SYNC_WRITE = 0x01, 0x02, 0x03, 0x82, 0x83
BROADCAST = 0xFE
DEFAULT_SPEED = 3000.0  # ticks/s: about 260 °/s, an STS3215 at 7.4 V with no load
FACTORY = {  # register values of a new STS3215 (the ones the driver reads or writes)
    "Firmware_Major_Version": 3,
    "Firmware_Minor_Version": 10,
    "Model_Number": reg.MODEL_NUMBER_STS3215,
    "Baud_Rate": 0,
    "Return_Delay_Time": 250,
    "Min_Position_Limit": 0,
    "Max_Position_Limit": reg.MAX_TICK,
    "Max_Torque_Limit": 1000,
    "P_Coefficient": 32,
    "D_Coefficient": 32,
    "Protection_Current": 500,
    "Overload_Torque": 80,
    "Acceleration": 0,
    "Lock": 1,
    "Present_Voltage": 74,
    "Present_Temperature": 30,
}


def checksum(body) -> int:
    """The protocol's checksum of the bytes after the header (id .. last parameter)."""
    return ~sum(body) & 0xFF


def packet(sid: int, code: int, params=()) -> bytes:
    """A whole packet: header, id, length, instruction (or error byte), params, checksum."""
    body = [sid, len(params) + 2, code, *params]
    return bytes([0xFF, 0xFF, *body, checksum(body)])


class Servo:
    """One STS3215: its control table and the shaft's encoder position (`actual`, ticks, before the homing offset)."""

    def __init__(self, sid: int, actual: float):
        self.memory = bytearray(256)
        for name, value in FACTORY.items():
            self.poke(name, value)
        self.poke("ID", sid)
        self.actual = float(actual) % reg.RESOLUTION
        self.poke("Goal_Position", round(self.present()))

    def peek(self, name: str) -> int:
        addr, size = reg.address(name)
        return reg.decode(name, reg.from_bytes(self.memory[addr : addr + size]))

    def poke(self, name: str, value: int) -> None:
        addr, size = reg.address(name)
        self.memory[addr : addr + size] = bytes(reg.to_bytes(reg.encode(name, value), size))

    def present(self) -> float:
        """Present_Position: the encoder less the homing offset, in 0..4095 (LeRobot clears the Phase bit for this)."""
        return (self.actual - self.peek("Homing_Offset")) % reg.RESOLUTION

    def goal(self) -> float:
        """The goal the firmware drives to: Goal_Position held inside the position limits."""
        return min(max(self.peek("Goal_Position"), self.peek("Min_Position_Limit")), self.peek("Max_Position_Limit"))


class BusEmulator:
    """Six servos (ids 1..6) and the faults injected into them; `handle` turns one request into its replies."""

    def __init__(self, positions=None, calibration: dict | None = None, speed: float = DEFAULT_SPEED):
        """`positions`: the six Present_Position ticks to start at (default: the middle of each calibrated range);
        `calibration`: LeRobot's per-motor dicts, already in the servos' EEPROM (an arm calibrated before)."""
        cals = list((calibration or {}).values())
        if positions is None:
            positions = [(c["range_min"] + c["range_max"]) / 2 for c in cals] if cals else [2047.0] * 6
        self.servos = {}
        for i, pos in enumerate(positions):
            offset = cals[i]["homing_offset"] if cals else 0
            servo = Servo(i + 1, pos + offset)
            if cals:
                servo.poke("Homing_Offset", offset)
                servo.poke("Min_Position_Limit", cals[i]["range_min"])
                servo.poke("Max_Position_Limit", cals[i]["range_max"])
                servo.poke("Goal_Position", round(servo.present()))
            self.servos[i + 1] = servo
        self.speed = speed
        self.silent: set[int] = set()
        self.stuck: set[int] = set()
        self.corrupt = 0  # status packets still to damage; -1: all of them
        self.goals: list[dict] = []  # every Goal_Position written: {"t", "id", "goal", "present", "torque"}
        self.requests = 0
        self.damaged_requests = 0
        self._t = time.monotonic()

    # --- physics ------------------------------------------------------------------------------------
    def advance(self, now: float | None = None) -> None:
        """Move each servo with torque on toward its goal for the time since the last call."""
        now = time.monotonic() if now is None else now
        dt, self._t = max(0.0, now - self._t), now
        for sid, servo in self.servos.items():
            if not servo.peek("Torque_Enable") or sid in self.stuck:
                servo.poke("Moving", 0)
                continue
            pos, goal = servo.present(), servo.goal()
            step = max(-self.speed * dt, min(self.speed * dt, goal - pos))
            servo.actual = (servo.actual + step) % reg.RESOLUTION
            servo.poke("Moving", int(abs(goal - pos) > 1))
        for servo in self.servos.values():
            servo.poke("Present_Position", int(round(servo.present())) % reg.RESOLUTION)

    # --- the protocol -------------------------------------------------------------------------------
    def status(self, sid: int, error: int = 0, params=()) -> bytes:
        """A servo's status packet, damaged while corrupt faults are pending."""
        raw = bytearray(packet(sid, error, params))
        if self.corrupt:
            raw[-1] ^= 0x5A
            self.corrupt -= 1 if self.corrupt > 0 else 0
        return bytes(raw)

    def handle(self, sid: int, code: int, params: bytes) -> list[tuple[int, bytes]]:
        """The replies to one well-formed request, each (servo id, status packet), in the order they go out."""
        self.requests += 1
        self.advance()
        if code == SYNC_WRITE and sid == BROADCAST:
            addr, size = params[0], params[1]
            for i in range(2, len(params) - size, size + 1):
                if params[i] in self.servos:
                    self._write(self.servos[params[i]], addr, params[i + 1 : i + 1 + size])
            return []
        if code == SYNC_READ and sid == BROADCAST:
            addr, size = params[0], params[1]
            ids = [i for i in params[2:] if i in self.servos and i not in self.silent]
            return [(i, self.status(i, params=self.servos[i].memory[addr : addr + size])) for i in ids]
        servo = self.servos.get(sid)
        if code == WRITE and sid == BROADCAST:
            for s in self.servos.values():
                self._write(s, params[0], params[1:])
            return []
        if servo is None or sid in self.silent:
            return []
        if code == PING:
            return [(sid, self.status(sid))]
        if code == READ:
            addr, size = params[0], params[1]
            return [(sid, self.status(sid, params=servo.memory[addr : addr + size]))]
        if code == WRITE:
            self._write(servo, params[0], params[1:])
            return [(sid, self.status(sid))]
        return [(sid, self.status(sid, error=0x08))]  # an instruction these servos do not know

    def _write(self, servo: Servo, addr: int, data: bytes) -> None:
        if addr < reg.EEPROM_END and servo.memory[reg.address("Lock")[0]]:
            return  # EEPROM is locked: the write is dropped, as the firmware does
        servo.memory[addr : addr + len(data)] = data
        goal_addr = reg.address("Goal_Position")[0]
        if addr <= goal_addr < addr + len(data):
            self.goals.append(
                {
                    "t": time.monotonic(),
                    "id": servo.peek("ID"),
                    "goal": servo.peek("Goal_Position"),
                    "present": servo.present(),
                    "torque": bool(servo.peek("Torque_Enable")),
                }
            )

    def wire_s(self, nbytes: int) -> float:
        """Seconds `nbytes` take on the wire at the servos' baud rate (10 bits a byte)."""
        code = self.servos[1].peek("Baud_Rate")
        baud = next((b for b, c in reg.BAUDRATES.items() if c == code), 1_000_000)
        return nbytes * 10 / baud

    def state(self) -> dict:
        """What a test checks: each servo's registers that matter and the faults on."""
        self.advance()
        servos = {}
        for sid, s in self.servos.items():
            servos[sid] = {
                name: s.peek(name)
                for name in ("Torque_Enable", "Goal_Position", "Present_Position", "Lock", "Homing_Offset")
                + ("Min_Position_Limit", "Max_Position_Limit", "Return_Delay_Time", "Acceleration", "Max_Torque_Limit")
            }
            servos[sid]["actual"] = s.actual
        return {"servos": servos, "requests": self.requests, "damaged_requests": self.damaged_requests}


class Parser:
    """Splits a byte stream into requests, dropping noise before a header and packets with a bad checksum."""

    def __init__(self, bus: BusEmulator):
        self.bus, self.buffer = bus, bytearray()

    def feed(self, data: bytes):
        """Yield (request length in bytes, sid, instruction, params) for each whole, intact request in `data`."""
        self.buffer += data
        while True:
            start = self.buffer.find(b"\xff\xff")
            if start < 0:
                del self.buffer[:-1]
                return
            del self.buffer[:start]
            if len(self.buffer) < 4:
                return
            total = self.buffer[3] + 4
            if len(self.buffer) < total:
                return
            raw, self.buffer = bytes(self.buffer[:total]), self.buffer[total:]
            if raw[-1] != checksum(raw[2:-1]):
                self.bus.damaged_requests += 1
                continue
            yield total, raw[2], raw[4], raw[5:-1]


class PtyServer:
    """The emulator on a pseudo-terminal whose slave `link` points at, with vanishing and coming back."""

    def __init__(self, bus: BusEmulator, link: str):
        self.bus, self.link, self.parser = bus, link, Parser(bus)
        self.master = self.slave = None
        self.reappear_at: float | None = None
        self.attach()

    def attach(self) -> None:
        self.master, self.slave = os.openpty()  # the slave stays open here, so a driver's close is not a hang-up
        tty.setraw(self.slave)
        tmp = f"{self.link}.tmp"
        os.symlink(os.ttyname(self.slave), tmp)
        os.replace(tmp, self.link)
        self.parser.buffer.clear()

    def vanish(self, reappear_after: float | None) -> None:
        """Unplug: the device and its name go away; with `reappear_after`, a new one takes the name then."""
        os.close(self.master)
        os.close(self.slave)
        self.master = self.slave = None
        os.unlink(self.link)
        self.reappear_at = None if reappear_after is None else time.monotonic() + reappear_after

    def serve_bytes(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except OSError:  # the pty hung up
            return
        for length, sid, code, params in self.parser.feed(data):
            replies = self.bus.handle(sid, code, params)
            if not replies:
                continue
            # the request's bytes, then each servo's delay and status packet, back to back on the wire; written at
            # once when the last would have arrived (one wake-up, not six, on a busy machine)
            wait = self.bus.wire_s(length) + sum(
                self.bus.servos[rid].peek("Return_Delay_Time") * 2e-6 + self.bus.wire_s(len(raw))
                for rid, raw in replies
            )
            _sleep(wait)
            os.write(self.master, b"".join(raw for _, raw in replies))

    def command(self, cmd: dict) -> dict:
        op, bus = cmd["op"], self.bus
        if op == "state":
            return bus.state()
        if op == "goals":
            return {"goals": bus.goals}
        if op == "silence":
            bus.silent.add(cmd["id"])
        elif op == "answer":
            bus.silent.discard(cmd["id"])
        elif op == "corrupt":
            bus.corrupt = cmd["count"]
        elif op == "stick":
            bus.stuck.add(cmd["id"])
        elif op == "unstick":
            bus.stuck.discard(cmd["id"])
        elif op == "move":  # by hand: only a limp servo can be turned
            servo = bus.servos[cmd["id"]]
            bus.advance()
            if not servo.peek("Torque_Enable"):
                servo.actual = (servo.actual + cmd["ticks"]) % reg.RESOLUTION
            bus.advance()
        elif op == "vanish":
            self.vanish(cmd.get("reappear_after"))
        else:
            return {"error": f"unknown op {op!r}"}
        return {"ok": True}


def _sleep(seconds: float) -> None:
    """Wait out the wire time. time.sleep oversleeps sub-millisecond waits a little, which makes the emulated bus
    slower, never faster, than a real one; spinning instead would steal the CPU the driver runs on."""
    if seconds > 0:
        time.sleep(seconds)


def serve(link: str, bus: BusEmulator, control_in=sys.stdin, control_out=sys.stdout) -> None:
    """Serve the bus on a pty at `link` and the control commands on `control_in` until it closes."""
    server = PtyServer(bus, link)
    selector = selectors.DefaultSelector()
    selector.register(control_in, selectors.EVENT_READ, "control")
    selector.register(server.master, selectors.EVENT_READ, "bus")
    print(json.dumps({"ready": True, "link": link, "device": os.ttyname(server.slave)}), file=control_out, flush=True)
    try:
        while True:
            timeout = None if server.reappear_at is None else max(0.0, server.reappear_at - time.monotonic())
            for key, _ in selector.select(timeout):
                if key.data == "bus" and server.master is not None:
                    server.serve_bytes()
                elif key.data == "control":
                    line = control_in.readline()
                    if not line:
                        return
                    master = server.master
                    reply = server.command(json.loads(line))
                    if server.master is None and master is not None:
                        selector.unregister(master)
                    print(json.dumps(reply), file=control_out, flush=True)
            if server.reappear_at is not None and time.monotonic() >= server.reappear_at:
                server.reappear_at = None
                server.attach()
                selector.register(server.master, selectors.EVENT_READ, "bus")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(link)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--link", required=True, help="the path the driver opens (a symlink to the pty)")
    parser.add_argument("--calibration", default=None, help="a LeRobot calibration JSON already in the servos")
    parser.add_argument("--positions", default=None, help="six Present_Position ticks to start at, comma separated")
    parser.add_argument("--speed", type=float, default=DEFAULT_SPEED, help="servo speed in ticks/s")
    args = parser.parse_args(argv)
    calibration = json.loads(open(args.calibration).read()) if args.calibration else None
    positions = [float(p) for p in args.positions.split(",")] if args.positions else None
    serve(args.link, BusEmulator(positions, calibration, args.speed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
