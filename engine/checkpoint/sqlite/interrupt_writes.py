"""Pending `__interrupt__` writes in their short form (see compaction.py), with the database at
hand: the interrupt rows a short form names, choosing the short form for the writes of a step
once its interrupt rows are stored, and expanding it again when checkpoints are read. Plain
functions run on the connection thread; used by the saver (reading checkpoints) and by the
events writer (storing a step's InterruptRaised events)."""

from __future__ import annotations

import sqlite3
from typing import Iterable, Mapping

from engine.checkpoint.sqlite.batching import chunks
from engine.checkpoint.sqlite.compaction import (INTERRUPT_ROW_FIELDS, INTERRUPT_ROWS_TAG, interrupt_refs,
                                                 interrupts_text, named_interrupts, naming_interrupts)
from engine.checkpoint.sqlite.packing import pack, unpack
from engine.constants import INTERRUPT
from engine.errors import StorageError


def interrupt_rows(db, ids: Iterable[str]) -> dict[str, tuple]:
    rows: dict[str, tuple] = {}
    for chunk in chunks(list(set(ids))):
        for row in db.execute(f"SELECT {INTERRUPT_ROW_FIELDS} FROM interrupts "
                              f"WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            rows[row[0]] = row
    return rows

def interrupts_by_reference(db, text: str, known: Mapping[str, tuple] | None = None) -> str | None:
    """The short form of an interrupt write's JSON text, naming each interrupt's row, when
    those rows rebuild exactly this text; else None (the text is stored as it is). `known`:
    rows (INTERRUPT_ROW_FIELDS) the caller just wrote, not read again."""
    refs = interrupt_refs(text)
    if not refs:
        return None
    known = known or {}
    rows = {ref[0]: known[ref[0]] for ref in refs if ref[0] in known}
    missing = [ref[0] for ref in refs if ref[0] not in rows]
    if missing:
        rows.update(interrupt_rows(db, missing))
    if interrupts_text(refs, rows) != text:
        return None
    return naming_interrupts(refs)

def link_interrupt_writes(db, places: Iterable[tuple[str, str]], known: Mapping[str, tuple] | None = None,
                          written: Mapping[tuple[str, str], list | None] | None = None) -> None:
    """Store the interrupt writes at these (thread_id, checkpoint_id) in their short form
    where the interrupt rows now allow it (a superstep writes them before its events).
    `written`: the interrupt writes the transaction inserted at a place ([(rowid, value)]),
    not read back (None: one was replaced, read them)."""
    for thread_id, checkpoint_id in places:
        found = (written or {}).get((thread_id, checkpoint_id))
        if found is None:
            found = db.execute(
                "SELECT rowid, value FROM writes WHERE thread_id = ? AND checkpoint_id = ? AND channel = ?",
                (thread_id, checkpoint_id, INTERRUPT)).fetchall()
        for rowid, value in found:
            short = interrupts_by_reference(db, unpack(value), known)
            if short is not None:
                db.execute("UPDATE writes SET value = ? WHERE rowid = ?", (pack(short), rowid))


def expand_interrupt_writes(db: sqlite3.Connection, groups: Iterable[list], path: str) -> None:
    """Replace the short form of interrupt writes (task_id, channel, text) by their full text."""
    short: list[tuple[list, int, list]] = []
    for group in groups:
        for index, (_task_id, channel, text) in enumerate(group):
            if channel == INTERRUPT and text.startswith(INTERRUPT_ROWS_TAG):
                short.append((group, index, named_interrupts(text)))
    if not short:
        return
    rows = interrupt_rows(db, [ref[0] for _g, _i, refs in short for ref in refs])
    for group, index, refs in short:
        text = interrupts_text(refs, rows)
        if text is None:
            raise StorageError(
                f"{path} is damaged: an interrupt named by a pending write of task "
                f"{group[index][0]!r} is missing. Restore the file from a backup.")
        group[index] = (group[index][0], group[index][1], text)


__all__ = ["interrupt_rows", "interrupts_by_reference", "link_interrupt_writes", "expand_interrupt_writes"]
