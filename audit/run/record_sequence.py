"""Rules across records: one run start first, consecutive rounds (a run resume may come between
two rounds, restating the last model hash), one run end last, and each
partner's cumulative epsilon never decreasing and never above an unchanging budget."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audit.run.errors import BudgetError, RecordError

__all__ = ["RecordSequence"]


class RecordSequence:
    """State of a run's records so far; `accept` checks the next record against it.

    A refused record leaves the state unchanged.
    """

    def __init__(self) -> None:
        self.count = 0
        self.partners: dict[str, str] = {}
        self.last_round = 0
        self.model_hash: str | None = None
        self.ended = False
        self.cumulative: dict[str, float] = {}
        self.budget: dict[str, float] = {}
        self.final_model_hash: str | None = None
        self.resumes = 0

    def accept(self, record: Mapping[str, Any]) -> None:
        """Check the next (already validated) record and advance.

        Raises:
            RecordError: out of order, unknown partner or broken model-hash chain.
            BudgetError: cumulative epsilon above its budget, decreasing, or budget changed.
        """
        kind = record["type"]
        if self.ended:
            raise RecordError("no record may follow run_end")
        if self.count == 0 and kind != "run_start":
            raise RecordError(f"the first record must be run_start, not {kind}")
        if self.count and kind == "run_start":
            raise RecordError("a run has a single run_start, as its first record")
        if kind == "run_start":
            self.partners = dict(record["partners"])
        elif kind == "round":
            self._accept_round(record)
        elif kind == "run_resume":
            self._accept_run_resume(record)
        else:
            self._accept_run_end(record)
        self.count += 1

    def _accept_round(self, record: Mapping[str, Any]) -> None:
        number = record["round"]
        if number != self.last_round + 1:
            raise RecordError(
                f"round {number} follows round {self.last_round}; rounds must be consecutive from 1"
            )
        named = set(record["participants"]) | set(record["dropouts"]) | set(record["refusals"])
        for key in (
            "update_hashes",
            "epsilon_spent",
            "epsilon_cumulative",
            "epsilon_budget",
            "data_commitments",
        ):
            named |= set(record[key])
        unknown = sorted(named - set(self.partners))
        if unknown:
            raise RecordError(
                f"round {number} names partners not declared at run start: {', '.join(unknown)}"
            )
        if self.model_hash is not None and record["model_hash_before"] != self.model_hash:
            raise RecordError(
                f"round {number}: model_hash_before is not the previous round's model_hash_after"
            )
        budget = {**self.budget, **record["epsilon_budget"]}
        cumulative = {**self.cumulative, **record["epsilon_cumulative"]}
        for partner, cap in record["epsilon_budget"].items():
            if partner in self.budget and cap != self.budget[partner]:
                raise BudgetError(
                    f"round {number}: epsilon budget of {partner} changed",
                    expected=str(self.budget[partner]),
                    computed=str(cap),
                )
        for partner, value in record["epsilon_cumulative"].items():
            if value < self.cumulative.get(partner, 0.0):
                raise BudgetError(
                    f"round {number}: cumulative epsilon of {partner} decreased",
                    expected=f">= {self.cumulative[partner]}",
                    computed=str(value),
                )
        for partner, value in cumulative.items():
            if partner not in budget:
                raise BudgetError(f"round {number}: {partner} spent epsilon without a budget")
            if value > budget[partner]:
                raise BudgetError(
                    f"round {number}: cumulative epsilon of {partner} exceeds its budget",
                    expected=f"<= {budget[partner]}",
                    computed=str(value),
                )
        self.budget, self.cumulative = budget, cumulative
        self.last_round = number
        self.model_hash = record["model_hash_after"]

    def _accept_run_resume(self, record: Mapping[str, Any]) -> None:
        if record["after_round"] != self.last_round:
            raise RecordError(
                f"run_resume after round {record['after_round']}, but the log "
                f"holds {self.last_round} rounds"
            )
        if self.model_hash is not None and record["model_hash"] != self.model_hash:
            raise RecordError("run_resume: model_hash is not the last round's model_hash_after")
        self.model_hash = record["model_hash"]
        self.resumes += 1

    def _accept_run_end(self, record: Mapping[str, Any]) -> None:
        if record["rounds"] != self.last_round:
            raise RecordError(
                f"run_end says {record['rounds']} rounds, the log holds {self.last_round}"
            )
        if self.model_hash is not None and record["final_model_hash"] != self.model_hash:
            raise RecordError("run_end: final_model_hash is not the last round's model_hash_after")
        self.final_model_hash = record["final_model_hash"]
        self.ended = True
