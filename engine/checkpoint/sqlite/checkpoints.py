"""The rows of LangGraph's saver protocol in the SQLite file: checkpoints, pending writes and the
channel value blobs they name (append deltas, values deflated against a sibling, blobs shared
with the parent checkpoint), read back as CheckpointTuples. `CheckpointRows` holds the plain
functions SqliteSaver runs on its connection thread (`fn(db, txn, ...)`); the saver decides
which connection and transaction each runs in. See saver.py's docstring for the storage design.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Iterable

from engine.checkpoint.base import CheckpointTuple, make_config
from engine.checkpoint.serde import dumps, loads
from engine.checkpoint.sqlite.batching import chunks
from engine.checkpoint.sqlite.blobs import BlobCache, append_suffix, join_lists
from engine.checkpoint.sqlite.compaction import expand_checkpoint
from engine.checkpoint.sqlite.interrupt_writes import expand_interrupt_writes
from engine.checkpoint.sqlite.packing import MAX_RELATED_CHARS, pack, pack_with, related_id, unpack
from engine.checkpoint.sqlite.times import stored_time
from engine.constants import INTERRUPT
from engine.errors import StorageError

if TYPE_CHECKING:
    from engine.checkpoint.sqlite.transactions import Txn

CHECKPOINT_COLUMNS = ("thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, "
                       "metadata, value_refs")

_CHAIN_SQL = """
WITH RECURSIVE chain(root, id, base_id, depth, value) AS (
    SELECT id, id, base_id, depth, value FROM blobs WHERE id IN ({ids})
    UNION ALL
    SELECT chain.root, b.id, b.base_id, b.depth, b.value
    FROM blobs AS b JOIN chain ON b.id = chain.base_id
)
SELECT root, id, depth, value FROM chain
"""


class CheckpointRows:
    """Checkpoints, pending writes and channel value blobs of one file, on its connection
    thread. Shares the saver's BlobCache (the saver drops what a rolled-back transaction put
    there)."""

    def __init__(self, path: str, cache: BlobCache) -> None:
        self.path = path
        self._cache = cache
        #: longest chain of append deltas before a list value is stored whole again
        self.max_delta_chain = 64
        #: list values shorter than this (as JSON text) are always stored whole
        self.delta_min_chars = 256

    # --- channel value blobs ------------------------------------------------------------------------
    def _load_blobs(self, db: sqlite3.Connection, blob_ids: Iterable[int]) -> dict[int, str]:
        """The full JSON text of each blob, following append chains."""
        texts: dict[int, str] = {}
        missing: list[int] = []
        for blob_id in set(blob_ids):
            cached = self._cache.get(blob_id)
            if cached is not None:
                texts[blob_id] = cached[0]
            else:
                missing.append(blob_id)
        for chunk in chunks(missing):
            rows = db.execute(_CHAIN_SQL.format(ids=",".join("?" * len(chunk))), chunk).fetchall()
            related = self._related_texts(db, rows)
            parts: dict[int, list[tuple[int, str]]] = defaultdict(list)
            for root, blob_id, depth, value in rows:
                needed = related_id(value)
                if needed is not None and needed not in related:
                    raise self._damaged_blob(needed)
                parts[root].append((depth, unpack(value, related.get(needed))))
            for root in chunk:
                chain = sorted(parts.get(root, ()), key=lambda part: part[0])
                if not chain or chain[0][0] != 0 or len(chain) != chain[-1][0] + 1:
                    raise self._damaged_blob(root)
                text = chain[0][1] if len(chain) == 1 else join_lists([value for _, value in chain])
                texts[root] = text
                if text.startswith("["):
                    self._cache.put(root, text, chain[-1][0])
        return texts

    def _damaged_blob(self, blob_id: int) -> StorageError:
        return StorageError(f"{self.path} is damaged: channel value blob {blob_id} is missing or "
                            "incomplete. Restore the file from a backup.")

    def _related_texts(self, db: sqlite3.Connection, rows: list) -> dict[int, str]:
        """The stored texts the format-3 values among `rows` (root, id, depth, value) need, by
        blob id (see packing.pack_with)."""
        wanted = {related_id(value) for _root, _id, _depth, value in rows} - {None}
        if not wanted:
            return {}
        values = {blob_id: value for _root, blob_id, _depth, value in rows if blob_id in wanted}
        for chunk in chunks([blob_id for blob_id in wanted if blob_id not in values]):
            values.update(db.execute(f"SELECT id, value FROM blobs WHERE id IN ({','.join('?' * len(chunk))})",
                                     chunk))
        texts = {}
        for blob_id, value in values.items():
            if related_id(value) is not None:  # never written: a related text is not of format 3
                raise self._damaged_blob(blob_id)
            texts[blob_id] = unpack(value)
        return texts

    def _write_blob(self, db: sqlite3.Connection, txn: Txn, text: str, base_id: int | None,
                    siblings: list[tuple[int, str]]) -> int:
        """Insert a channel value's blob: an append delta of `base_id`'s list when it extends
        it, deflated against the largest of `siblings` (blobs written for the same checkpoint,
        as (id, stored text)) when that is smaller (a tool call's request repeats the message
        that made the call). A blob stored without a sibling joins `siblings`."""
        stored, depth, base = text, 0, None
        if base_id is not None and text.startswith("[") and len(text) >= self.delta_min_chars:
            previous = self._cache.get(base_id)
            if previous is None and self._load_blobs(db, [base_id])[base_id].startswith("["):
                previous = self._cache.get(base_id)
            if previous is not None and previous[1] < self.max_delta_chain:
                suffix = append_suffix(previous[0], text)
                if suffix is not None:
                    stored, depth, base = suffix, previous[1] + 1, base_id
        value = pack(stored)
        usable = [sibling for sibling in siblings if len(sibling[1]) <= MAX_RELATED_CHARS]
        if usable:
            sibling_id, sibling_text = max(usable, key=lambda sibling: len(sibling[1]))
            value = pack_with(stored, sibling_text, sibling_id, value) or value
        cursor = db.execute("INSERT INTO blobs (base_id, depth, value) VALUES (?, ?, ?)", (base, depth, value))
        blob_id = cursor.lastrowid
        txn.new_blob_ids.append(blob_id)
        if related_id(value) is None:
            siblings.append((blob_id, stored))
        if text.startswith("["):
            self._cache.put(blob_id, text, depth)
        return blob_id

    @staticmethod
    def _blob_refs(value_refs: Iterable) -> set[int]:
        return {blob_id for stored in value_refs for _c, _v, blob_id in loads(unpack(stored)) if blob_id is not None}

    def _thread_blob_refs(self, db: sqlite3.Connection, thread_id: str) -> set[int]:
        """The blobs the thread's checkpoints (every namespace) name in their value_refs."""
        return self._blob_refs(stored for (stored,) in db.execute(
            "SELECT value_refs FROM checkpoints WHERE thread_id = ?", (thread_id,)))

    @staticmethod
    def _reachable_blobs(db: sqlite3.Connection, blob_ids: set[int]) -> set[int]:
        """`blob_ids` and every blob they need: the bases of append deltas and the rows that
        values of format 3 were deflated against. All belong to the same thread."""
        reached, frontier = set(blob_ids), list(blob_ids)
        while frontier:
            found = []
            for chunk in chunks(frontier):
                for base_id, head in db.execute(
                        f"SELECT base_id, substr(value, 1, 16) FROM blobs WHERE id IN ({','.join('?' * len(chunk))})",
                        chunk):
                    for needed in (base_id, related_id(head)):
                        if needed is not None and needed not in reached:
                            reached.add(needed)
                            found.append(needed)
            frontier = found
        return reached

    def _delete_blobs(self, db: sqlite3.Connection, blob_ids: set[int]) -> None:
        for chunk in chunks(sorted(blob_ids)):
            db.execute(f"DELETE FROM blobs WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        self._cache.discard(blob_ids)

    def _materialize(self, db: sqlite3.Connection, rows: list) -> list[CheckpointTuple]:
        """Checkpoint tuples for checkpoint rows: their channel values and pending writes."""
        refs = [loads(unpack(row[6])) for row in rows]
        texts = self._load_blobs(db, [blob_id for ref in refs for _c, _v, blob_id in ref if blob_id is not None])
        writes: dict[tuple[str, str, str], list] = defaultdict(list)
        by_namespace: dict[tuple[str, str], list[str]] = defaultdict(list)
        for row in rows:
            by_namespace[(row[0], row[1])].append(row[2])
        for (thread_id, ns), checkpoint_ids in by_namespace.items():
            for chunk in chunks(checkpoint_ids):
                found = db.execute(
                    "SELECT checkpoint_id, task_id, channel, value FROM writes "
                    "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id IN "
                    f"({','.join('?' * len(chunk))}) ORDER BY rowid",
                    (thread_id, ns, *chunk))
                for checkpoint_id, task_id, channel, value in found:
                    writes[(thread_id, ns, checkpoint_id)].append((task_id, channel, unpack(value)))
        expand_interrupt_writes(db, writes.values(), self.path)
        tuples = []
        for row, ref in zip(rows, refs):
            thread_id, ns, checkpoint_id, parent_id, checkpoint_text, metadata_text = row[:6]
            checkpoint = expand_checkpoint(loads(unpack(checkpoint_text)), checkpoint_id, ns, ref)
            if "channel_values" in checkpoint:
                inline = checkpoint["channel_values"]
                checkpoint["channel_values"] = {
                    channel: loads(texts[blob_id]) if blob_id is not None else inline[channel]
                    for channel, _version, blob_id in ref}
            tuples.append(CheckpointTuple(
                config=make_config(thread_id, ns, checkpoint_id),
                checkpoint=checkpoint,
                metadata=loads(unpack(metadata_text)),
                parent_config=make_config(thread_id, ns, parent_id) if parent_id else None,
                pending_writes=[(task_id, channel, loads(text))
                                for task_id, channel, text in writes.get((thread_id, ns, checkpoint_id), ())],
            ))
        return tuples

    def _get_tuple(self, db, _txn, thread_id: str, ns: str, wanted: str | None) -> CheckpointTuple | None:
        if wanted is None:  # the latest is the last written, as in InMemorySaver
            rows = db.execute(
                f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints INDEXED BY checkpoints_by_insertion "
                "WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY rowid DESC LIMIT 1",
                (thread_id, ns)).fetchall()
        else:
            rows = db.execute(
                f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints "
                "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
                (thread_id, ns, wanted)).fetchall()
        return self._materialize(db, rows)[0] if rows else None

    def _list(self, db, _txn, sql: str, params: list, filter: dict | None, limit: int | None) -> list:
        rows = db.execute(sql, params).fetchall()
        if filter:
            rows = [row for row in rows
                    if not any(loads(unpack(row[5])).get(k) != v for k, v in filter.items())]
        if limit is not None:
            rows = rows[:limit]
        return self._materialize(db, rows)

    def _put(self, db, txn, thread_id, ns, parent_id, checkpoint_id, values, versions, texts,
             checkpoint_text, metadata_text, now, graph) -> None:
        parent_refs: dict[str, tuple[Any, int]] = {}
        if parent_id is not None:
            # A parent written earlier in this transaction: its refs are at hand (the write
            # lock is held, so its row is as this transaction wrote it).
            known = txn.refs.get((thread_id, ns, parent_id))
            if known is not None:
                parent_refs = known
            else:
                found = db.execute(
                    "SELECT value_refs FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
                    (thread_id, ns, parent_id)).fetchone()
                if found:
                    parent_refs = {ch: (version, blob_id) for ch, version, blob_id in loads(unpack(found[0]))
                                   if blob_id is not None}
        refs: list[list] = []
        siblings: list[tuple[int, str]] = []
        for channel, value in values.items():
            if channel not in versions:
                refs.append([channel, None, None])
                continue
            version = versions[channel]
            parent = parent_refs.get(channel)
            if channel not in texts and parent is not None and parent[0] == version:
                refs.append([channel, version, parent[1]])  # unchanged: share the parent's blob
                continue
            text = texts[channel] if channel in texts else dumps(value)
            blob_id = self._write_blob(db, txn, text, parent[1] if parent is not None else None, siblings)
            refs.append([channel, version, blob_id])
        row = (thread_id, ns, checkpoint_id, parent_id, pack(checkpoint_text), pack(metadata_text), pack(dumps(refs)))
        try:
            # A new checkpoint, nearly always: no look for a row to replace first.
            db.execute("INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, "
                       "checkpoint, metadata, value_refs) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        except sqlite3.IntegrityError as conflict:  # (only this statement was undone)
            self._replace(db, row, conflict)
        txn.refs[(thread_id, ns, checkpoint_id)] = {ch: (version, blob_id) for ch, version, blob_id in refs
                                                     if blob_id is not None}
        # A thread checkpointed without run events (e.g. update_state) is still listed: its row
        # is made sure of at the commit, unless a run event of the transaction writes it.
        if thread_id not in txn.thread_rows:
            txn.at_commit.setdefault(("thread_row", thread_id), (self._ensure_thread_row, (thread_id, graph, now)))

    @staticmethod
    def _ensure_thread_row(db, txn, thread_id: str, graph: str, now: str) -> None:
        if thread_id not in txn.thread_rows:
            db.execute("INSERT OR IGNORE INTO threads (thread_id, graph, created_at, updated_at) VALUES (?, ?, ?, ?)",
                       (thread_id, graph, stored_time(now), stored_time(now)))
            txn.thread_rows.add(thread_id)

    def _replace(self, db, row: tuple, conflict: sqlite3.IntegrityError) -> None:
        """Put a checkpoint again under an id the thread has (the INSERT of `row` conflicted)."""
        thread_id, ns, checkpoint_id = row[:3]
        replaced = db.execute(
            "SELECT value_refs FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
            (thread_id, ns, checkpoint_id)).fetchone()
        if replaced is None:
            raise conflict  # not a checkpoint put again: the INSERT's own error
        db.execute("UPDATE checkpoints SET parent_checkpoint_id = ?, checkpoint = ?, metadata = ?, value_refs = ? "
                   "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?", (*row[3:], *row[:3]))
        # Blobs are found through the checkpoints that name them: drop those no checkpoint
        # of the thread reaches any more (written for the row just replaced).
        before = self._reachable_blobs(db, self._blob_refs([replaced[0]]))
        self._delete_blobs(db, before - self._reachable_blobs(db, self._thread_blob_refs(db, thread_id)))

    @staticmethod
    def _put_writes(db, txn, rows: list) -> None:
        # Upserted by (task_id, channel) per checkpoint: an update keeps the row's rowid, so
        # readers still get first-put order. (An interrupt write is shortened by the events
        # writer, once the interrupt rows it names are there: see interrupt_writes.link_interrupt_writes.)
        for thread_id, ns, checkpoint_id, task_id, channel, task_path, value in rows:
            cursor = db.execute(
                "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, channel, task_path, value) "
                "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE NOT EXISTS (SELECT 1 FROM writes WHERE thread_id = ?1 "
                "AND checkpoint_id = ?3 AND checkpoint_ns = ?2 AND task_id = ?4 AND channel = ?5)",
                (thread_id, ns, checkpoint_id, task_id, channel, task_path, value))
            if channel == INTERRUPT:
                known = txn.interrupt_writes.setdefault((thread_id, checkpoint_id), [])
                if cursor.rowcount and known is not None:
                    known.append((cursor.lastrowid, value))
                else:  # one replaced (its rowid unknown here): the events writer reads them back
                    txn.interrupt_writes[(thread_id, checkpoint_id)] = None
            if not cursor.rowcount:
                db.execute(
                    "UPDATE writes SET task_path = ?6, value = ?7 WHERE thread_id = ?1 AND checkpoint_id = ?3 "
                    "AND checkpoint_ns = ?2 AND task_id = ?4 AND channel = ?5",
                    (thread_id, ns, checkpoint_id, task_id, channel, task_path, value))

    def _delete_thread(self, db, _txn, thread_id: str, now: str) -> None:
        blob_ids = self._reachable_blobs(db, self._thread_blob_refs(db, thread_id))
        db.execute("DELETE FROM writes WHERE thread_id = ?", (thread_id,))
        db.execute("DELETE FROM checkpoints WHERE thread_id = ?", (thread_id,))
        self._delete_blobs(db, blob_ids)
        db.execute(
            "UPDATE interrupts SET status = 'cancelled', resolved_at = coalesce(resolved_at, ?), "
            "resolved_by = coalesce(resolved_by, 'system'), reason = 'thread deleted' "
            "WHERE thread_id = ? AND (status = 'pending' OR (status IN ('resolved', 'expired') AND applied = 0))",
            (now, thread_id))
        db.execute("DELETE FROM threads WHERE thread_id = ?", (thread_id,))


__all__ = ["CheckpointRows", "CHECKPOINT_COLUMNS"]
