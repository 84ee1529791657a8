#!/usr/bin/env python3
"""
An independent emulation of a CU16-style Kerong RS-485 lock board behind a pseudo-terminal,
written from the protocol (HARDWARE.md section 1) and sharing no code with the project's own
fake: the locker's real serialport stack opens the pty's slave end like a USB adapter.

Frames: STX(02) ADDR CMD [DATA] ETX(03) SUM, SUM = low byte of the sum STX..ETX. ADDR: board id
in the high nibble, lock index in the low one. 0x30 query -> 9-byte status reply
02 ADDR 35 L1-8 L9-16 IR1-8 IR9-16 03 SUM (lock bit 1 = locked); 0x31 unlock (no reply).

Protocol with the test, one JSON object per line:
  stdout: {"ready": "/dev/pts/N"} once; then {"query": board, "answered": bool, "t": s},
          {"unlock": channel, "board": board, "silent": bool, "t": s}, {"ack": n} per command.
  stdin:  {"n": n, "silent": bool} | {"n": n, "silenceAfterUnlock": true} |
          {"n": n, "jam": channel, "value": bool} | {"n": n, "close": channel}
Exits when stdin closes.
"""
import json
import os
import pty
import select
import sys
import time
import tty

BOARD = 0
STX, ETX = 0x02, 0x03
LENGTHS = {0x30: 5, 0x31: 5, 0x32: 5}

state = {
    "silent": False,
    "silence_after_unlock": False,
    "door_open": [False] * 16,
    "jammed": [False] * 16,
}


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def checksum(data):
    return sum(data) & 0xFF


def status_frame(board):
    locks = 0
    for channel in range(16):
        if not state["door_open"][channel]:
            locks |= 1 << channel  # 1 = locked: an open door cannot be latched
    body = bytes([STX, board << 4, 0x35, locks & 0xFF, (locks >> 8) & 0xFF, 0, 0, ETX])
    return body + bytes([checksum(body)])


def handle(frame, master):
    board, lock, command = frame[1] >> 4, frame[1] & 0x0F, frame[2]
    if board != BOARD:
        return
    if command == 0x30:
        answered = not state["silent"]
        emit({"query": board, "answered": answered, "t": time.monotonic()})
        if answered:
            os.write(master, status_frame(board))
    elif command == 0x31:
        emit({"unlock": lock, "board": board, "silent": state["silent"], "t": time.monotonic()})
        if not state["jammed"][lock]:
            state["door_open"][lock] = True
        if state["silence_after_unlock"]:
            state["silence_after_unlock"] = False
            state["silent"] = True


def parse(buffer, master):
    """Consume whole frames from the front of buffer; resynchronise on STX."""
    while buffer:
        if buffer[0] != STX:
            del buffer[0]
            continue
        if len(buffer) < 3:
            return
        length = LENGTHS.get(buffer[2])
        if length is None:
            del buffer[0]
            continue
        if len(buffer) < length:
            return
        frame = bytes(buffer[:length])
        if frame[-2] != ETX or frame[-1] != checksum(frame[:-1]):
            del buffer[0]
            continue
        del buffer[:length]
        handle(frame, master)


def command(line):
    message = json.loads(line)
    if "silent" in message:
        state["silent"] = bool(message["silent"])
    if message.get("silenceAfterUnlock"):
        state["silence_after_unlock"] = True
    if "jam" in message:
        state["jammed"][int(message["jam"])] = bool(message.get("value", True))
    if "close" in message:
        state["door_open"][int(message["close"])] = False
    emit({"ack": message.get("n")})


def main():
    master, slave = pty.openpty()
    tty.setraw(slave)
    emit({"ready": os.ttyname(slave)})
    buffer = bytearray()
    pending = b""
    while True:
        readable, _, _ = select.select([master, sys.stdin], [], [])
        if master in readable:
            try:
                buffer.extend(os.read(master, 256))
            except OSError:
                pass  # nobody has the slave open yet (EIO on Linux): wait for them
            parse(buffer, master)
        if sys.stdin in readable:
            chunk = os.read(sys.stdin.fileno(), 4096)
            if not chunk:
                break
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line.strip():
                    command(line)
    os.close(slave)
    os.close(master)


if __name__ == "__main__":
    main()
