"""Own a name on the system bus and keep it: the lab's stand-in for a D-Bus daemon.

The lab only has the host's /usr, which has no D-Bus bindings for Python, so
this speaks the wire protocol itself (D-Bus specification, "Message Protocol"):
EXTERNAL authentication, Hello, RequestName, then it reads and drops whatever
arrives until the bus goes away. systemd's Type=dbus waits for the name.
"""

import os
import socket
import struct
import sys

BUS = "/run/dbus/system_bus_socket"


def _pad(data: bytes, boundary: int) -> bytes:
    return data + b"\0" * (-len(data) % boundary)


def _string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack("<I", len(raw)) + raw + b"\0"


def _signature(value: str) -> bytes:
    return bytes([len(value)]) + value.encode() + b"\0"


def _call(serial: int, member: str, signature: str = "", body: bytes = b"") -> bytes:
    """A method call to org.freedesktop.DBus (little endian, protocol version 1)."""
    fields = [
        (1, "o", _string("/org/freedesktop/DBus")),
        (2, "s", _string("org.freedesktop.DBus")),
        (3, "s", _string(member)),
        (6, "s", _string("org.freedesktop.DBus")),
    ]
    if signature:
        fields.append((8, "g", _signature(signature)))
    array = b""
    for code, kind, value in fields:
        # Each (yv) struct starts on 8 (the array starts at offset 16); code and
        # one-letter signature take 4 bytes, so the value is aligned as it must be.
        array = _pad(array, 8) + bytes([code]) + _signature(kind) + value
    header = struct.pack("<cBBBII", b"l", 1, 0, 1, len(body), serial)
    header += struct.pack("<I", len(array)) + array
    return _pad(header, 8) + body


def main() -> int:
    """Connect, own the name given on the command line, and hold it."""
    name = sys.argv[1]
    bus = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bus.connect(BUS)
    uid = str(os.getuid()).encode().hex()
    bus.sendall(b"\0AUTH EXTERNAL " + uid.encode() + b"\r\n")
    if not bus.recv(4096).startswith(b"OK"):
        return 1
    bus.sendall(b"BEGIN\r\n")
    bus.sendall(_call(1, "Hello"))
    # RequestName(s name, u flags); 4 is DBUS_NAME_FLAG_DO_NOT_QUEUE.
    bus.sendall(_call(2, "RequestName", "su", _pad(_string(name), 4) + struct.pack("<I", 4)))
    while bus.recv(65536):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
