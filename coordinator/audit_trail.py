"""The coordinator's side of the audit log: one record per round, signed, cosigned by partners.

Before the next round starts, the round's record is appended to ``RUN_DIR/audit/log.sqlite``,
a checkpoint of the log is signed with the coordinator's key, and every partner (a witness) is
sent the checkpoint with a consistency proof from the last checkpoint it cosigned, and the new
record with its inclusion proof (the witness checks its own entry before it cosigns); the
cosignatures are stored beside the checkpoint. A round record carries the partners' signed
statements verbatim (``coordinator.statements``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flwr.app import ConfigRecord, Message, MessageType, RecordDict
from flwr.serverapp import Grid

from audit import (
    AuditError,
    NoteSigner,
    RunAuditLog,
    key_name_from,
    read_signer,
    round_record,
    run_end_record,
    run_resume_record,
    run_start_record,
    write_signer,
)
from audit.merkle import MAX_SIGNATURES
from coordinator.errors import PartnerLimitError
from coordinator.replies import SortedReplies
from coordinator.statements import check_statements
from federation import (
    Action,
    Partner,
    Query,
    Record,
    RunDir,
    RunSettings,
    code_hash,
    dp_terms,
)

logger = logging.getLogger(__name__)

COSIGN_TIMEOUT_S = 300.0  # how long the coordinator waits for a cosign exchange's replies
MAX_PARTNERS = MAX_SIGNATURES - 1
"""Most partners a run can have: each checkpoint carries the coordinator's signature and one
cosignature a partner, in a note of at most ``MAX_SIGNATURES`` lines."""

# Messages that carry a cosign request to their nodes, or the function that makes them
Carriers = Sequence[Message] | Callable[[], Sequence[Message]]


def config_hash(settings: RunSettings) -> str:
    return hashlib.sha256(json.dumps(asdict(settings), sort_keys=True).encode()).hexdigest()


def load_or_create_signer(settings: RunSettings, run_dir: Path) -> NoteSigner:
    """The coordinator's signing key: ``audit-key`` if set, else one made for this run.

    A key made for the run lives beside the run directory (``<out>/keys/<run>.key``, 0600), not
    inside it: the run directory is what a privacy officer is handed.
    """
    if settings.audit_key:
        return read_signer(settings.audit_key)
    path = RunDir(run_dir).key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_signer(path, NoteSigner.generate(f"fedinsight.local/{run_dir.name}"))
    return read_signer(path)


def run_origin(signer: NoteSigner, run_dir: Path) -> str:
    """The log's origin line: the signing key's name, plus the run's name when the key is the
    coordinator's (shared by its runs), so every run is its own log to the witnesses."""
    if signer.name.endswith("/" + run_dir.name):
        return signer.name
    return f"{signer.name}/{key_name_from(run_dir.name, 'run')}"


@dataclass(frozen=True)
class _CosignRequest:
    """A signed checkpoint's cosign request: its tree size, the run's partners (name: node id)
    and the request each node gets (``Query`` keys)."""

    size: int
    nodes: dict[str, int]
    configs: dict[int, ConfigRecord]


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class AuditTrail:
    """The run's audit log as the round loop uses it. ``resumed``: the log existed (a
    coordinator restarted); it is reopened, never recreated, so its history stays one."""

    def __init__(self, run_dir: Path, signer: NoteSigner) -> None:
        self.resumed = RunAuditLog.exists(run_dir)
        if self.resumed:
            self.log = RunAuditLog.open(run_dir, signer)
        else:
            self.log = RunAuditLog.create(run_dir, signer, origin=run_origin(signer, run_dir))
        self.signer = signer
        self.cosigned: dict[str, int] = {}
        self.statements: dict[str, dict[str, Any]] = {}  # this round's, by partner
        self.pending: _CosignRequest | None = None  # a cosign request waiting for a carrier

    def start(
        self,
        grid: Grid,
        nodes: Mapping[str, int],
        witness_keys: Mapping[str, str],
        *,
        settings: RunSettings,
        arch_hash: str,
        manifest_hash: str | None = None,
        defer: bool = False,
    ) -> None:
        """Append the run's start; have it cosigned now, or with ``defer`` in the next exchange
        (``send``: round 1's train messages carry the request).

        Raises:
            PartnerLimitError: more partners than a checkpoint note has room to cosign.
        """
        if len(witness_keys) > MAX_PARTNERS:
            raise PartnerLimitError(
                f"{len(witness_keys)} partners: a checkpoint of the audit log carries the "
                f"coordinator's signature and one cosignature a partner, at most "
                f"{MAX_PARTNERS + 1} in all; run with at most {MAX_PARTNERS} partners"
            )
        record = run_start_record(
            config_hash=config_hash(settings),
            code_hash=code_hash(),
            model_arch_hash=arch_hash,
            dp=dp_terms(settings).record(),
            partners=dict(witness_keys),
            started_at=now(),
            manifest_hash=manifest_hash,
        )
        if defer:
            self.flush(grid)
            self.pending = self._request(nodes, record)
        else:
            self._append_and_cosign(grid, nodes, record)

    def resume(
        self, grid: Grid, nodes: Mapping[str, int], *, after_round: int, model_hash: str
    ) -> None:
        record = run_resume_record(after_round=after_round, model_hash=model_hash, resumed_at=now())
        self._append_and_cosign(grid, nodes, record)

    def check_round(self, replies: SortedReplies, rnd: int, *, dp: bool) -> None:
        """Check the round's statements (bad ones become rejected updates) and keep the good
        ones for the round's record."""
        self.statements = check_statements(
            replies, origin=self.log.origin, rnd=rnd, keys=self.log.witness_keys(), dp=dp
        )

    def round(
        self,
        grid: Grid,
        nodes: Mapping[str, int],
        *,
        carriers: Sequence[Message] = (),
        timeout: float = COSIGN_TIMEOUT_S,
        **fields: Any,
    ) -> list[Message]:
        """Append the round's record and have it cosigned; ``carriers`` (the round's evaluate
        messages) take the cosign request to their nodes, and their replies are returned."""
        trained = set(fields.get("participants", ()))
        fields["dp"] = {p: s for p, s in self.statements.items() if p in trained}
        return self._append_and_cosign(
            grid, nodes, round_record(**fields), carriers=carriers, timeout=timeout
        )

    def end(
        self,
        grid: Grid,
        nodes: Mapping[str, int],
        *,
        final_model_hash: str,
        rounds: int,
        carriers: Carriers = (),
    ) -> list[Message]:
        """Append the run's end and have it cosigned; ``carriers`` (made once the record is in
        the log: the model's homecoming) take the request; their replies are returned."""
        record = run_end_record(final_model_hash=final_model_hash, rounds=rounds, ended_at=now())
        return self._append_and_cosign(grid, nodes, record, carriers=carriers)

    def summary(self) -> dict[str, Any]:
        checkpoint = self.log.latest_checkpoint()
        if checkpoint is None:
            return {"tree_size": 0}
        return {
            "tree_size": checkpoint.tree_size,
            "root": checkpoint.root.hex(),
            "checkpoint": checkpoint.text(),
            "coordinator_vkey": self.signer.verifier.vkey,
        }

    def close(self) -> None:
        self.log.close()

    def send(self, grid: Grid, messages: Sequence[Message], *, timeout: float) -> list[Message]:
        """``grid.send_and_receive(messages)``, with the cosign request ``start`` deferred
        riding on them when one waits: the run's start is cosigned in round 1's train
        exchange. Returns the replies to ``messages``."""
        if self.pending is None:
            return list(grid.send_and_receive(messages, timeout=timeout))
        request, self.pending = self.pending, None
        return self._exchange(grid, request, messages, timeout)

    def flush(self, grid: Grid) -> None:
        """Send a deferred cosign request on its own (nothing went out to carry it)."""
        if self.pending is not None:
            request, self.pending = self.pending, None
            self._exchange(grid, request, (), COSIGN_TIMEOUT_S)

    def _append_and_cosign(
        self,
        grid: Grid,
        nodes: Mapping[str, int],
        record: dict[str, Any],
        *,
        carriers: Carriers = (),
        timeout: float = COSIGN_TIMEOUT_S,
    ) -> list[Message]:
        """Append ``record``, sign the checkpoint, ask every node of ``nodes`` to cosign it and
        store the cosignatures (a deferred request goes out first). A node that a message of
        ``carriers`` goes to (one at most) gets the request in that message's
        ``Record.COSIGN`` record, not in a query of its own: one exchange instead of two.
        ``carriers`` may be a function, called once the record is in the log. Returns the
        replies to ``carriers``."""
        self.flush(grid)
        request = self._request(nodes, record)
        return self._exchange(
            grid, request, carriers() if callable(carriers) else carriers, timeout
        )

    def _request(self, nodes: Mapping[str, int], record: dict[str, Any]) -> _CosignRequest:
        """Append ``record`` and sign the checkpoint; the request each node is to get."""
        checkpoint = self.log.append_record(record)
        index = checkpoint.tree_size - 1
        leaf = self.log.log.leaf(index).hex()
        leaf_proof = ",".join(p.hex() for p in self.log.log.inclusion_proof(index))
        configs = {}
        for name, node_id in nodes.items():
            seen = self.cosigned.get(name, 0)
            if seen > checkpoint.tree_size:
                # The witness cosigned a longer history of this log than the log now holds:
                # it will see the truth (a split view); send it the whole log's proof.
                logger.warning(
                    "partner %s cosigned size %d, above the log's %d",
                    name,
                    seen,
                    checkpoint.tree_size,
                )
                seen = 0
            proof = self.log.consistency_proof_for(seen)
            configs[node_id] = ConfigRecord(
                {
                    Query.ACTION: Action.COSIGN,
                    Query.CHECKPOINT: checkpoint.text(),
                    Query.PROOF: ",".join(p.hex() for p in proof),
                    Query.COORDINATOR_VKEY: self.signer.verifier.vkey,
                    Query.LEAF: leaf,
                    Query.LEAF_PROOF: leaf_proof,
                }
            )
        return _CosignRequest(checkpoint.tree_size, dict(nodes), configs)

    def _exchange(
        self, grid: Grid, request: _CosignRequest, carriers: Sequence[Message], timeout: float
    ) -> list[Message]:
        """Send ``request`` (riding on ``carriers`` where they go), store the cosignatures;
        return the replies to ``carriers``."""
        carried = {m.metadata.dst_node_id: m for m in carriers}
        messages = []
        for node_id, config in request.configs.items():
            carrier = carried.get(node_id)
            if carrier is not None:
                # Flower's strategies give all of a phase's messages one content object:
                # each carrier gets its own, with its node's request (its own proof).
                carrier.content = RecordDict(
                    {**dict(carrier.content.items()), Record.COSIGN: config}
                )
            else:
                content = RecordDict({Record.CONFIG: config})
                messages.append(Message(content, node_id, MessageType.QUERY))
        replies = list(grid.send_and_receive([*carriers, *messages], timeout=timeout))
        self._store_cosignatures(request, replies)
        answered = {r.metadata.src_node_id for r in replies if not r.has_error()}
        silent = {n: c for n, c in request.configs.items() if n in carried and n not in answered}
        if carriers and silent:
            # No answer, or an error, from a node whose request rode on other work (which may
            # have failed after the node cosigned): ask it again alone, so the log knows what
            # the node cosigned and its next proof starts there.
            again = _CosignRequest(request.size, request.nodes, silent)
            self._exchange(grid, again, (), COSIGN_TIMEOUT_S)
        # A node gets a carrier or a query, never both; a reply to a carrier names it once
        # the grid has pushed it (Flower's grids set the message ids).
        to_carriers = {m.metadata.message_id for m in carriers} - {""}
        return [
            r
            for r in replies
            if r.metadata.reply_to_message_id in to_carriers or r.metadata.src_node_id in carried
        ]

    def _store_cosignatures(self, request: _CosignRequest, replies: list[Message]) -> None:
        for name, reply in _replies_by_partner(replies):
            if name not in request.nodes:
                continue
            partner = reply.content.config_records[Record.PARTNER]
            line = partner.get(Partner.COSIGNATURE)
            if isinstance(line, str) and self._store_cosignature(request.size, line):
                self.cosigned[name] = request.size
            else:
                logger.warning(
                    "partner %s did not cosign checkpoint %d: %s",
                    name,
                    request.size,
                    partner.get(Partner.COSIGN_REFUSAL, "no cosignature"),
                )

    def _store_cosignature(self, tree_size: int, line: str) -> bool:
        try:
            return self.log.add_cosignature(tree_size, line)
        except (AuditError, ValueError) as exc:
            logger.warning("cosignature of checkpoint %d refused: %s", tree_size, exc)
            return False


def _replies_by_partner(replies: Iterable[Message]) -> list[tuple[str, Message]]:
    out = []
    for msg in replies:
        if msg.has_error():
            logger.warning("node %s: %s", msg.metadata.src_node_id, (msg.error.reason or "")[:300])
            continue
        partner = msg.content.config_records.get(Record.PARTNER)
        if partner is not None:
            out.append((str(partner.get(Partner.NAME, "")), msg))
    return out


def hello(
    grid: Grid, node_ids: Iterable[int], origin: str, coordinator_vkey: str = ""
) -> dict[str, tuple[int, str, int]]:
    """Ask every node for its partner label, witness key and the size of the newest checkpoint
    of this log it cosigned: ``{name: (node_id, vkey, size)}``. The log's origin and key go
    with it: a simulated partner joins (pins the log) at its run's first hello."""
    config = ConfigRecord(
        {
            Query.ACTION: Action.HELLO,
            Query.ORIGIN: origin,
            Query.COORDINATOR_VKEY: coordinator_vkey,
        }
    )
    messages = [
        Message(RecordDict({Record.CONFIG: config}), nid, MessageType.QUERY) for nid in node_ids
    ]
    found: dict[str, tuple[int, str, int]] = {}
    for name, reply in _replies_by_partner(grid.send_and_receive(messages, timeout=300)):
        partner = reply.content.config_records[Record.PARTNER]
        vkey = partner.get(Partner.WITNESS_VKEY)
        size = partner.get(Partner.WITNESS_SIZE, 0)
        if isinstance(vkey, str):
            found[name] = (reply.metadata.src_node_id, vkey, size if isinstance(size, int) else 0)
    return found
