"""The partner-side worker: a long-lived process beside the SuperNode that answers the train and
evaluate messages the ClientApp hands it (``client_node.worker_link``), with torch, Opacus and
pandas imported once instead of once per message.

``fedinsight node start`` runs it as ``python -m client_node.worker NODE_DIR`` and stops it with
the SuperNode; it also ends on its own when the process that started it is gone. It listens on
``worker_link.socket_path(NODE_DIR)``, a socket file (0600) in a folder (0700) of the node's
user, and answers only a peer of that same user (``SO_PEERCRED``), one message at a time. It
declines a message whose ClientApp runs other code than its own (the code fingerprint), or
that is for another node folder; the ClientApp then does the work itself. Its log lines go to
the SuperNode's log (``node start`` shows refusals from there), as the ClientApp's do.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from flwr.app import Context, Message

from client_node.worker_link import (
    code_fingerprint,
    private_dir,
    recv_frame,
    send_frames,
    socket_path,
)
from federation import NodeConfig

logger = logging.getLogger("client_node.worker")  # also when run as __main__

Handler = Callable[[Message, Context], Message]


def _handlers() -> dict[str, Handler]:
    from client_node.client_app import evaluate_here, train_here

    return {"train": train_here, "evaluate": evaluate_here}


def _peer_is_this_user(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return bool(uid == os.getuid())


def answer(conn: socket.socket, node_dir: Path, code: str, handlers: dict[str, Handler]) -> None:
    """Read one request from ``conn`` and send its answer (or the reason it is declined)."""
    from flwr.common.serde import context_from_proto, message_from_proto, recorddict_to_proto
    from flwr.proto.message_pb2 import Context as ProtoContext
    from flwr.proto.message_pb2 import Message as ProtoMessage

    header = json.loads(recv_frame(conn))
    context_proto, message_proto = ProtoContext(), ProtoMessage()
    context_proto.ParseFromString(recv_frame(conn))
    message_proto.ParseFromString(recv_frame(conn))
    context = context_from_proto(context_proto)
    kind = str(header.get("kind", ""))
    asked_dir = str(context.node_config.get(NodeConfig.NODE_DIR, ""))
    if kind not in handlers:
        reason = f"unknown kind {kind!r}"
    elif header.get("code") != code:
        reason = "the ClientApp runs other code than this worker (restart node start)"
    elif not asked_dir or Path(asked_dir).resolve() != node_dir:
        reason = "the message is for another node folder"
    else:
        started = time.monotonic()
        reply = handlers[kind](message_from_proto(message_proto), context)
        send_frames(conn, b"ok", recorddict_to_proto(reply.content).SerializeToString())
        logger.info("worker: answered a %s message in %.2fs", kind, time.monotonic() - started)
        return
    send_frames(conn, reason.encode())


def serve(
    node_dir: Path,
    *,
    handlers: dict[str, Handler] | None = None,
    parent: int | None = None,
    code: str | None = None,
    stop: list[int] | None = None,
) -> None:
    """Answer requests until SIGTERM/SIGINT (in the main thread), until ``stop`` is not empty,
    or until ``parent`` is no longer our parent."""
    node_dir = node_dir.resolve()
    table = handlers if handlers is not None else _handlers()
    fingerprint = code if code is not None else code_fingerprint()
    path = socket_path(node_dir)
    private_dir(path.parent)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    stop = stop if stop is not None else []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: stop.append(signum))
    # Bound under a name of its own, then renamed once listening: a ClientApp that finds the
    # socket file never meets "connection refused" from a worker between bind and listen.
    staging = path.with_name(f"{path.name}.{secrets.token_hex(4)}")  # 9 more of 107 bytes
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        old_umask = os.umask(0o177)
        try:
            server.bind(str(staging))
        finally:
            os.umask(old_umask)
        try:
            server.listen(8)
            os.replace(staging, path)
        except OSError:
            staging.unlink(missing_ok=True)
            raise
        server.settimeout(1.0)
        logger.info("worker ready for node folder %s", node_dir)
        try:
            while not stop and (parent is None or os.getppid() == parent):
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                with conn:
                    conn.settimeout(None)
                    if not _peer_is_this_user(conn):
                        logger.warning("worker: refused a connection from another user")
                        continue
                    try:
                        answer(conn, node_dir, fingerprint, table)
                    except (OSError, ValueError) as exc:
                        logger.warning("worker: a request failed: %s", exc)
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    logger.info("worker stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m client_node.worker", description=__doc__)
    parser.add_argument("node_dir", type=Path)
    parser.add_argument("--parent", type=int, default=None, help="end when this pid is gone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Import what a message needs now, not on the first message.
    import client_node.data
    import client_node.task  # noqa: F401

    serve(args.node_dir, parent=args.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
