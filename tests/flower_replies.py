"""Flower messages as one end receives them: a train reply at the coordinator's grid, an
instruction at a node's ClientApp."""

from __future__ import annotations

import time

from flwr.app import Message, MessageType, Metadata, RecordDict


def reply_metadata(node_id: int) -> Metadata:
    """The metadata of node ``node_id``'s reply to a train message, as the SuperLink sets it."""
    return Metadata(
        run_id=1,
        message_id=f"reply-{node_id}",
        src_node_id=node_id,
        dst_node_id=0,
        reply_to_message_id=f"instruction-{node_id}",
        group_id="1",
        created_at=0.0,
        ttl=3600.0,
        message_type=MessageType.TRAIN,
    )


def received_reply(content: RecordDict, node_id: int) -> Message:
    """``content`` as node ``node_id``'s reply to a train message, as the grid hands it over."""
    # Flower's typed overloads leave out ``metadata``, which is how received messages are built.
    reply: Message = Message(content, metadata=reply_metadata(node_id))  # type: ignore[call-overload]
    return reply


def received_instruction(content: RecordDict, kind: str = MessageType.TRAIN) -> Message:
    """``content`` as a ``kind`` message of run 7 that node 3's ClientApp receives."""
    metadata = Metadata(
        run_id=7,
        message_id="m-1",
        src_node_id=0,
        dst_node_id=3,
        reply_to_message_id="",
        group_id="1",
        created_at=time.time(),
        ttl=3600.0,
        message_type=kind,
    )
    msg: Message = Message(content, metadata=metadata)  # type: ignore[call-overload]
    return msg
