"""Keys, signed notes, checkpoints and cosignatures in the C2SP formats."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from audit import (
    COSIGNATURE_V1,
    Checkpoint,
    FormatError,
    NoteSignature,
    NoteSigner,
    SignatureError,
    SignedNote,
    parse_note,
    parse_vkey,
    read_signer,
    read_vkey,
    write_signer,
    write_vkey,
)
from audit.merkle.key_files import parse_signer, signer_text
from audit.merkle.note_keys import cosigned_message, key_id

# The example key and note of Go's golang.org/x/mod/sumdb/note package.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvq"
    "fqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_go_reference_key_and_signature_are_reproduced() -> None:
    signer = parse_signer(GO_SKEY)

    assert signer.verifier.vkey == GO_VKEY
    assert NoteSignature.create(GO_TEXT, signer).line == GO_SIG
    assert signer_text(signer) == GO_SKEY


def test_go_reference_note_verifies_and_a_changed_text_does_not() -> None:
    note = parse_note(GO_TEXT + "\n" + GO_SIG)
    note.verify(parse_vkey(GO_VKEY))

    with pytest.raises(SignatureError, match="does not verify"):
        SignedNote(GO_TEXT.replace("answer", "question"), note.signatures).verify(
            parse_vkey(GO_VKEY)
        )


@pytest.mark.parametrize(
    "mangled",
    [
        GO_VKEY.replace("c74f20a3", "c74f20a4"),
        GO_VKEY.replace("PeterNeumann", "PeterNeuman"),
        GO_VKEY[:-2],
        GO_VKEY + "+extra",
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_mangled_verifier_keys_are_refused(mangled: str) -> None:
    with pytest.raises(FormatError):
        parse_vkey(mangled)


def test_unknown_keys_are_ignored_but_a_known_bad_signature_rejects() -> None:
    known = NoteSigner.generate("log.test/a")
    other = NoteSigner.generate("log.test/b")
    text = "hello\n"
    note = SignedNote(text, (NoteSignature.create(text, other), NoteSignature.create(text, known)))

    assert note.verify_known([known.verifier]) == [known.verifier]
    forged = NoteSignature(known.name, known.key_id, b"\x00" * 64)
    with pytest.raises(SignatureError):
        SignedNote(text, (forged,)).verify_known([known.verifier])
    with pytest.raises(SignatureError, match="no signature"):
        SignedNote(text, (NoteSignature.create(text, other),)).verify(known.verifier)


@pytest.mark.parametrize(
    "text",
    [
        "no blank line\n\u2014 a AAAA\n",
        "text\n\n",
        "text\n\nnot a signature line\n",
        "text\n\n\u2014 name not-base64!\n",
        "text\n\n\u2014 name AAAA\n",
        "ctl\x01char\n\n\u2014 name AAAAAAAA\n",
    ],
)
def test_malformed_notes_are_refused(text: str) -> None:
    with pytest.raises(FormatError):
        parse_note(text)


def test_checkpoint_text_round_trips_and_rejects_noncanonical_lines() -> None:
    checkpoint = Checkpoint("example.com/log", 20852163, bytes(range(32)))

    assert Checkpoint.from_text(checkpoint.text) == checkpoint
    assert checkpoint.text.splitlines()[1] == "20852163"
    for bad in (
        "example.com/log\n007\n" + checkpoint.text.split("\n")[2] + "\n",
        "example.com/log\n7\nAAAA\n",
        "example.com/log\n7\n",
    ):
        with pytest.raises(FormatError):
            Checkpoint.from_text(bad)


def test_cosignature_signs_header_timestamp_and_checkpoint() -> None:
    witness = NoteSigner.generate("witness.test/w1", COSIGNATURE_V1)
    text = Checkpoint("example.com/log", 3, bytes(32)).text
    line = NoteSignature.create(text, witness, timestamp=1679315147)

    assert line.key_id == key_id("witness.test/w1", 0x04, witness.verifier.public_key)
    assert line.payload[:8] == (1679315147).to_bytes(8, "big")
    assert witness.verifier.verify(text.encode(), line.payload)
    assert cosigned_message(text.encode(), 1679315147).startswith(
        b"cosignature/v1\ntime 1679315147\nexample.com/log\n3\n"
    )
    assert base64.b64decode(witness.verifier.vkey.split("+", 2)[2])[0] == COSIGNATURE_V1


def test_private_key_files_are_0600_and_never_overwritten(tmp_path: Path) -> None:
    signer = NoteSigner.generate("log.test/keys")
    write_signer(tmp_path / "log.key", signer)
    write_signer(tmp_path / "log.pem", signer, pem=True)
    write_vkey(tmp_path / "log.vkey", signer.verifier)

    for name in ("log.key", "log.pem"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert read_signer(tmp_path / "log.key").verifier == signer.verifier
    assert read_signer(tmp_path / "log.pem", name="log.test/keys").verifier == signer.verifier
    assert read_vkey(tmp_path / "log.vkey") == signer.verifier
    with pytest.raises(FileExistsError):
        write_signer(tmp_path / "log.key", NoteSigner.generate("log.test/keys"))


def test_signer_repr_does_not_show_the_private_key() -> None:
    signer = parse_signer(GO_SKEY)

    assert "AYEKFALV" not in repr(signer) and "private" not in repr(signer).lower()


def test_key_name_from_any_text_is_a_valid_key_name() -> None:
    from audit import check_key_name, key_name_from

    assert key_name_from("my coordinator+1", "x") == "my-coordinator-1"
    assert key_name_from("run 2026/11", "x") == "run-2026-11"
    assert key_name_from(" +\t", "fallback") == "fallback"
    for text in ("a b", "ü", "tab\there", "--x--", "a+b"):
        assert check_key_name(key_name_from(text, "x"))


def test_a_hundred_partners_cosignatures_fit_a_note_and_a_thousand_and_one_do_not() -> None:
    """A run's checkpoint carries the coordinator's signature and one per partner: with 100
    partners that is 101 lines (a 1M-customer simulation failed on a limit of 100)."""
    from audit.merkle import MAX_SIGNATURES

    text = "hello\n"
    signers = [NoteSigner.generate(f"log.test/p{i}") for i in range(101)]
    note = SignedNote(text, tuple(NoteSignature.create(text, s) for s in signers))
    parsed = parse_note(note.text + "\n" + "".join(sig.line for sig in note.signatures))
    assert parsed.verify_known([signers[0].verifier, signers[100].verifier])

    assert MAX_SIGNATURES == 1000
    line = note.signatures[0]
    with pytest.raises(FormatError, match="more than 1000 signatures"):
        SignedNote(text, (line,) * 1001)
    with pytest.raises(FormatError, match="more than 1000 signatures"):
        parse_note(text + "\n" + line.line * 1001)
