"""The ClientApp's side of the partner-side worker (``client_node.worker``).

Flower 1.42 starts a fresh ClientApp process for every message, so each train or evaluate
message would pay for importing torch, Opacus and pandas again. ``fedinsight node start`` runs
a worker beside the SuperNode that has them loaded; the ClientApp hands it the message and its
context over a Unix socket that only the node's user can open, and sends the worker's reply
content back to Flower as its own. Flower's isolation modes stay as Flower defines them: the
ClientApp process still starts for every message and still answers it.

Whenever the worker cannot answer (no socket, a refused connection, other code, a worker that
dies before it replies) the ClientApp does the work itself, so a round completes either way.
A worker that died after it recorded a round in the privacy ledger leaves that row there: the
round is then charged twice, which over-states ε and never under-states it.

Wire format: frames of a 4-byte big-endian length and a body. The request is three frames
(the header as JSON: kind and code fingerprint; ``context_to_proto``; ``message_to_proto``);
the reply is two (a status, ``ok`` or the reason the worker declined; ``recorddict_to_proto``
of the reply's content). Protobuf, never pickle.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import socket
import struct
import tempfile
import time
from pathlib import Path

from flwr.app import Context, Message

logger = logging.getLogger(__name__)

# Packages whose code runs a message: the ClientApp and the worker must run the same code.
PACKAGES = ("client_node", "federation", "privacy", "insight", "anonymization", "audit")
MAX_FRAME = 1 << 31


def socket_path(node_dir: Path) -> Path:
    """The worker socket of the node whose folder is ``node_dir``: in a folder of this user's
    (0700) under the temporary directory, because a Unix socket's path is limited to 107
    bytes and a node folder's path may be longer."""
    digest = hashlib.sha256(str(node_dir.resolve()).encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"fedinsight-{os.getuid()}" / f"worker-{digest}.sock"


def private_dir(path: Path) -> None:
    """Create ``path`` (0700) and check that it is this user's and nobody else's."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{path} is not a private folder of this user")


def code_fingerprint() -> str:
    """SHA-256 over the source files of ``PACKAGES`` as this process would import them."""
    digest = hashlib.sha256()
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            for path in sorted(Path(location).rglob("*.py")):
                digest.update(str(path.relative_to(location)).encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


def send_frames(sock: socket.socket, *frames: bytes) -> None:
    sock.sendall(b"".join(struct.pack(">I", len(f)) + f for f in frames))


def recv_frame(sock: socket.socket) -> bytes:
    """One frame; ConnectionError when the peer closed before it was complete."""
    header = _recv_exactly(sock, 4)
    (size,) = struct.unpack(">I", header)
    if size >= MAX_FRAME:
        raise ConnectionError(f"frame of {size} bytes")
    return _recv_exactly(sock, size)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("the worker closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def delegate(kind: str, msg: Message, context: Context, node_dir: Path) -> Message | None:
    """The worker's reply to ``msg``, or None when the ClientApp must do the work itself."""
    from flwr.common.serde import (
        context_to_proto,
        message_to_proto,
        recorddict_from_proto,
    )
    from flwr.proto.recorddict_pb2 import RecordDict as ProtoRecordDict

    path = socket_path(node_dir)
    if not path.exists():
        return None
    started = time.monotonic()
    header = json.dumps({"kind": kind, "code": code_fingerprint()}).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(path))
            send_frames(
                sock,
                header,
                context_to_proto(context).SerializeToString(),
                message_to_proto(msg).SerializeToString(),
            )
            status = recv_frame(sock).decode()
            if status != "ok":
                logger.warning("the node's worker declined the %s message: %s", kind, status)
                return None
            body = recv_frame(sock)
    except OSError as exc:  # ConnectionError included: no worker, or it died mid-message
        logger.warning("the node's worker did not answer (%s); this app does the work", exc)
        return None
    proto = ProtoRecordDict()
    proto.ParseFromString(body)
    logger.info("%s message: the node's worker answered in %.2fs", kind, time.monotonic() - started)
    return Message(content=recorddict_from_proto(proto), reply_to=msg)
