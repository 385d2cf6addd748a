"""Global models on disk, one file per round, each with its sha256."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import torch

from insight.files import replace_atomically

StateDict = dict[str, torch.Tensor]


def state_bytes(state: StateDict) -> bytes:
    """Deterministic serialisation of a state dict (what the hashes are taken over)."""
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in sorted(state.items())}, buf)
    return buf.getvalue()


def state_sha256(state: StateDict) -> str:
    return hashlib.sha256(state_bytes(state)).hexdigest()


def save_model(state: StateDict, path: Path) -> str:
    """Write ``path`` and ``path.sha256`` atomically; return the hex digest of the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = state_bytes(state)
    digest = hashlib.sha256(data).hexdigest()
    with replace_atomically(path, mode=0o666) as out:
        out.write(data)
    with replace_atomically(path.with_name(path.name + ".sha256"), mode=0o666) as out:
        out.write(f"{digest}  {path.name}\n".encode())
    return digest


def load_model_state(path: Path) -> StateDict:
    state: StateDict = torch.load(path, map_location="cpu", weights_only=True)
    return state
