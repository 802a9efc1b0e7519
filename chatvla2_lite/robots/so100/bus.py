"""FeetechBus: the STS3215 servos of one serial port through Feetech's SDK (scservo_sdk, over pyserial): ping, read,
write, sync read, sync write, torque on and off, each a whole packet exchange or nothing.

Every exchange holds the bus lock (the stop button's thread waits for at most the one exchange in flight) and, in
the main thread, defers Ctrl-C to its end, so a packet is never cut in half; the input buffer is emptied before each
request, so a late or damaged reply cannot be read as the next one's. Failures become the project's errors: a port
that vanished PortLostError, a servo that does not answer ServoTimeoutError, replies that keep arriving damaged
BusCorruptError, a servo that reports a hardware error ServoFaultError.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time

from chatvla2_lite.errors import BusCorruptError, PortLostError, RobotError, ServoFaultError, ServoTimeoutError
from chatvla2_lite.robots.so100 import registers as reg

logger = logging.getLogger(__name__)

COMM_SUCCESS, COMM_RX_TIMEOUT, COMM_RX_CORRUPT = 0, -6, -7  # scservo_sdk's result codes
SETTLE_S = 0.002  # after a failed exchange, the time the rest of its replies take to arrive before they are dropped
POLL_TIMEOUT_S = 0.001  # the serial read timeout while the SDK waits for a reply
REPLY_TIMEOUT_MS = 50.0  # how long a servo may take to answer, on top of its bytes' time on the wire


def _packet_timeout(self, packet_length: int) -> None:
    """The SDK's reply timeout (PortHandler.setPacketTimeout), as Feetech fixed it upstream and LeRobot patches it:
    the packet's bytes plus three, then REPLY_TIMEOUT_MS (the SDK on PyPI allows 34 ms whatever the length)."""
    self.packet_start_time = self.getCurrentTime()
    self.packet_timeout = self.tx_time_per_byte * (packet_length + 3) + REPLY_TIMEOUT_MS


try:  # a vanished tty fails in termios calls (pyserial's buffer resets) as well as in reads and writes
    from termios import error as _termios_error

    _PORT_ERRORS: tuple[type[BaseException], ...] = (OSError, _termios_error)
except ImportError:  # Windows
    _PORT_ERRORS = (OSError,)


@contextlib.contextmanager
def _ctrl_c_deferred():
    """Hold a Ctrl-C until the block ends (main thread only: signal handlers live there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt


class FeetechBus:
    """Named STS3215 servos (name -> bus id) on `port` at `baudrate`, in protocol 0 (the STS series')."""

    def __init__(self, port: str, motors: dict[str, int], baudrate: int = 1_000_000, read_retries: int = 2):
        self.port, self.motors, self.baudrate, self.read_retries = port, dict(motors), baudrate, read_retries
        self._lock = threading.RLock()
        self._port = None  # scservo_sdk.PortHandler once open
        self._packets = None

    # --- the port -----------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._port is not None and self._port.is_open

    def open(self) -> None:
        """Open the port; PortLostError says what to check when it cannot be."""
        import scservo_sdk as scs

        with self._lock:
            handler = scs.PortHandler(self.port)
            try:
                opened = handler.setBaudRate(self.baudrate)
            except OSError as exc:  # serial.SerialException is an OSError
                raise PortLostError(
                    f"cannot open the arm's port {self.port} ({exc}); check that its USB adapter is plugged in and "
                    "powered, that the path is right (`ls /dev/ttyACM* /dev/ttyUSB*`), that you may use it (Linux: "
                    "the dialout group), and that no other program holds it"
                ) from exc
            if not opened:
                raise PortLostError(f"the port {self.port} does not take {self.baudrate} baud; use 1000000")
            # The SDK polls the port for replies with a zero timeout, spinning a core while it waits; a 1 ms read
            # timeout lets it sleep in select() instead and still returns the moment the bytes it asked for arrive.
            handler.ser.timeout = POLL_TIMEOUT_S
            handler.setPacketTimeout = _packet_timeout.__get__(handler)
            self._port, self._packets = handler, scs.PacketHandler(0)

    def close(self) -> None:
        with self._lock:
            if self._port is not None:
                with contextlib.suppress(Exception):  # a vanished port is closed enough
                    self._port.closePort()
            self._port = None

    def reopen(self, within_s: float) -> bool:
        """Try to open the port again for `within_s` seconds (a USB adapter that reset comes back): True once open."""
        deadline = time.monotonic() + within_s
        self.close()
        while True:
            try:
                self.open()
                return True
            except PortLostError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.05)

    def _exchange(self, call):
        """Run one SDK call as a whole exchange; a port error becomes PortLostError."""
        with self._lock, _ctrl_c_deferred():
            if not self.is_open:
                raise PortLostError(f"the arm's port {self.port} is not open; connect the arm first")
            try:
                self._port.ser.reset_input_buffer()
                return call(self._port, self._packets)
            except _PORT_ERRORS as exc:
                self.close()
                raise PortLostError(
                    f"lost the arm's port {self.port} ({exc}): the USB cable or adapter disconnected; plug it back in "
                    "and connect again"
                ) from exc
            finally:
                if self._port is not None:
                    self._port.is_using = False  # the SDK leaves it set when an exception cuts an exchange

    def _retried(self, what: str, motor: str | None, call):
        """`call` (port, packets) -> (value, result, error), tried 1 + read_retries times; raises on the last."""

        def parsed(port, packets):
            try:
                return call(port, packets)
            except IndexError:  # the SDK's ping and reads index a reply without checking its length: a stale one
                return None, COMM_RX_CORRUPT, 0

        for attempt in range(self.read_retries + 1):
            value, result, error = self._exchange(parsed)
            if result == COMM_SUCCESS:
                if error:
                    raise ServoFaultError(
                        f"servo {motor} (id {self.motors.get(motor)}) reports {reg.status_error_text(error)} during "
                        f"{what}; let it cool and check its load and the power supply (7.4 V for the STS3215)"
                    )
                return value
            logger.debug("%s: result %s (try %d)", what, result, attempt + 1)
            time.sleep(SETTLE_S)
        self._fail(what, motor, result)

    def _fail(self, what: str, motor: str | None, result: int):
        if result == COMM_RX_CORRUPT:
            raise BusCorruptError(
                f"damaged status packets from {motor or 'the servos'} during {what}, {self.read_retries + 1} times "
                "in a row; check the bus cable and its connectors, and that nothing else uses the port"
            )
        who = f"servo {motor} (id {self.motors[motor]})" if motor else "the servos"
        raise ServoTimeoutError(
            f"{who} stopped answering during {what}; check its cable and the arm's power supply, then connect again"
        )

    # --- single servos ------------------------------------------------------------------------------
    def ping(self, motor: str) -> int:
        """The servo's model number (777 for an STS3215)."""
        sid = self.motors[motor]
        return self._retried("ping", motor, lambda port, packets: packets.ping(port, sid))

    def read(self, name: str, motor: str) -> int:
        """A register of one servo, decoded (signed where it is sign-magnitude)."""
        addr, size = reg.address(name)
        sid = self.motors[motor]
        data = self._retried(f"a read of {name}", motor, lambda port, pk: pk.readTxRx(port, sid, addr, size))
        return reg.decode(name, reg.from_bytes(data))

    def write(self, name: str, motor: str, value: int) -> None:
        """Write a register of one servo and wait for its status packet."""
        addr, size = reg.address(name)
        sid, data = self.motors[motor], reg.to_bytes(reg.encode(name, value), size)

        def call(port, packets):
            result, error = packets.writeTxRx(port, sid, addr, size, data)
            return None, result, error

        self._retried(f"a write of {name}", motor, call)

    # --- all servos in one packet -------------------------------------------------------------------
    def sync_read(self, name: str, motors: list[str] | None = None) -> dict[str, int]:
        """One register of several servos in one request (each answers in turn), decoded."""
        import scservo_sdk as scs

        addr, size = reg.address(name)
        motors = list(motors or self.motors)
        out: dict[str, int] = {}

        def call(port, packets):
            group = scs.GroupSyncRead(port, packets, addr, size)
            for m in motors:
                group.addParam(self.motors[m])
            result = group.txRxPacket()
            failed = next((m for m in motors if len(group.data_dict[self.motors[m]]) < size), None)
            if result == COMM_SUCCESS:
                out.update({m: reg.decode(name, group.getData(self.motors[m], addr, size)) for m in motors})
            return failed, result, 0

        for attempt in range(self.read_retries + 1):
            failed, result, _ = self._exchange(call)
            if result == COMM_SUCCESS:
                return out
            logger.debug("sync read of %s: result %s at %s (try %d)", name, result, failed, attempt + 1)
            time.sleep(SETTLE_S)
        self._fail(f"a sync read of {name}", failed, result)

    def sync_write(self, name: str, values: dict[str, int]) -> None:
        """Write one register of several servos in one broadcast packet (no status packets come back)."""
        import scservo_sdk as scs

        addr, size = reg.address(name)
        params = {self.motors[m]: reg.to_bytes(reg.encode(name, v), size) for m, v in values.items()}

        def call(port, packets):
            group = scs.GroupSyncWrite(port, packets, addr, size)
            for sid, data in params.items():
                group.addParam(sid, data)
            return group.txPacket()

        result = self._exchange(call)
        if result != COMM_SUCCESS:
            raise PortLostError(f"could not send a sync write of {name} on {self.port} (result {result}); reconnect")

    # --- torque -------------------------------------------------------------------------------------
    def release_torque(self) -> list[str] | None:
        """Torque off on every servo: first one broadcast packet, which reaches each servo that hears the bus even
        when one is silent or the replies are damaged, then each servo's own write for its confirmation. Returns the
        servos that did not confirm ([] when all did), or None when nothing could be sent (the port is gone)."""
        with self._lock:
            try:
                self.sync_write("Torque_Enable", dict.fromkeys(self.motors, 0))
            except PortLostError:
                return None
            unconfirmed = []
            for motor in self.motors:
                try:
                    self.write("Torque_Enable", motor, 0)
                except RobotError:
                    unconfirmed.append(motor)
            return unconfirmed
