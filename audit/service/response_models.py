"""Response bodies of the audit service (they also document the API in OpenAPI)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "CheckpointOut",
    "ConsistencyOut",
    "EntriesOut",
    "EntryOut",
    "EpsilonOut",
    "EpsilonPoint",
    "InclusionOut",
    "NotVerifiedOut",
    "PartnerEpsilon",
    "RoundsOut",
    "VerificationOut",
]


class CheckpointOut(BaseModel):
    """The newest signed checkpoint (C2SP tlog-checkpoint note, cosignatures included)."""

    origin: str
    tree_size: int
    root: str = Field(description="base64 root hash")
    note: str = Field(description="the signed note as text")
    coordinator_vkey: str


class EntryOut(BaseModel):
    """One leaf: its index, its bytes (base64) and the record they encode."""

    index: int
    leaf: str
    record: dict[str, Any]


class EntriesOut(BaseModel):
    """A range of leaves."""

    tree_size: int
    entries: list[EntryOut]


class InclusionOut(BaseModel):
    """RFC 9162 inclusion proof (base64 hashes, leaf side first)."""

    index: int
    tree_size: int
    inclusion_proof: list[str]


class ConsistencyOut(BaseModel):
    """RFC 9162 consistency proof (base64 hashes)."""

    first: int
    second: int
    consistency_proof: list[str]


class RoundsOut(BaseModel):
    """The round records in order, and whether the log passes full verification: the records
    are served either way (to investigate a failure), but say so."""

    verified: bool
    verification: str = Field(description="the verification's outcome in words")
    rounds: list[dict[str, Any]]


class EpsilonPoint(BaseModel):
    """A partner's epsilon after one round."""

    round: int
    cumulative: float
    spent: float


class PartnerEpsilon(BaseModel):
    """A partner's budget and epsilon over time."""

    budget: float | None
    series: list[EpsilonPoint]


class EpsilonOut(BaseModel):
    """Epsilon per partner, from the first ``tree_size`` records, which passed verification."""

    verified: bool = Field(description="always true: unverified figures are not served")
    tree_size: int
    partners: dict[str, PartnerEpsilon]


class NotVerifiedOut(BaseModel):
    """The answer (409) where the log fails verification."""

    detail: str
    verified: bool
    tree_size: int | None


class VerificationOut(BaseModel):
    """Result of the full offline verification of the run directory."""

    ok: bool
    tree_size: int
    message: str
