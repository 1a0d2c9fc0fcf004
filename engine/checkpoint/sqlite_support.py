"""Pieces of the SQLite saver that do not touch the database: a lock for coroutines running on
any event loop, the append-delta encoding of list values, a cache of recent list values, the
short forms of pending interrupt writes and of checkpoints, timestamp normalisation, and
splitting id lists for IN (...)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import re
from collections import OrderedDict, deque
from datetime import datetime, timedelta, timezone


class CrossLoopLock:
    """A FIFO mutex for coroutines that may run on different event loops.

    asyncio.Lock belongs to one loop; the saver is used from the engine's background loop and
    from the caller's own loop at once, so this lock keeps its state under a threading.Lock and
    wakes a waiter on the waiter's own loop. Waiting never blocks a loop's thread. Not
    re-entrant (the saver lets calls inside its own transaction skip it)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._locked = False
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = deque()

    def locked(self) -> bool:
        return self._locked

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._mutex:
            if not self._locked:
                self._locked = True
                return
            waiter = (loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            await waiter[1]
        except BaseException:
            with self._mutex:
                try:
                    self._waiters.remove(waiter)
                    handed_over = False
                except ValueError:
                    handed_over = True  # release() chose us just before we were cancelled
            if handed_over:
                self.release()
            raise

    def release(self) -> None:
        with self._mutex:
            while self._waiters:
                loop, future = self._waiters.popleft()
                try:
                    loop.call_soon_threadsafe(_wake, future)
                except RuntimeError:  # that loop is closed: its waiter is gone
                    continue
                return  # ownership passes straight to the woken waiter
            self._locked = False


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


# --- append deltas ----------------------------------------------------------------------------
# Values are stored as the compact JSON of serde.dumps, so a list is "[" + ",".join(items) + "]".
# If the new list's text starts with the old list's text minus its "]" and continues with ",",
# JSON's grammar guarantees the first items are identical (every item ends where it ended
# before), so storing only the new items loses nothing.

def append_suffix(base_text: str, new_text: str) -> str | None:
    """The JSON list of the items `new_text` appends to `base_text`, or None when `new_text`
    is not such an extension (or the base is empty, so there is nothing to share)."""
    if not base_text.startswith("[") or not new_text.startswith("["):
        return None
    if new_text == base_text:
        return "[]"
    if base_text == "[]":
        return None
    stem_len = len(base_text) - 1
    if len(new_text) > len(base_text) and new_text[stem_len] == "," and new_text.startswith(base_text[:-1]):
        return "[" + new_text[stem_len + 1:]
    return None


def join_lists(parts: list[str]) -> str:
    """The JSON text of the concatenation of JSON lists given as text (oldest first)."""
    items = [part[1:-1] for part in parts if part != "[]"]
    return "[" + ",".join(items) + "]"


class BlobCache:
    """Recently written or read list values by blob id (text and delta depth), so the next
    checkpoint can store an append delta without reading the previous list back. Blob ids are
    never reused once committed (AUTOINCREMENT); ids written by a transaction that rolls back
    are dropped by the saver."""

    def __init__(self, max_chars: int = 32_000_000, max_entry_chars: int = 8_000_000) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, tuple[str, int]] = OrderedDict()
        self._chars = 0
        self._max_chars = max_chars
        self._max_entry_chars = max_entry_chars

    def get(self, blob_id: int) -> tuple[str, int] | None:
        with self._lock:
            entry = self._entries.get(blob_id)
            if entry is not None:
                self._entries.move_to_end(blob_id)
            return entry

    def put(self, blob_id: int, text: str, depth: int) -> None:
        if len(text) > self._max_entry_chars:
            return
        with self._lock:
            old = self._entries.pop(blob_id, None)
            if old is not None:
                self._chars -= len(old[0])
            self._entries[blob_id] = (text, depth)
            self._chars += len(text)
            while self._chars > self._max_chars and self._entries:
                _, (evicted, _) = self._entries.popitem(last=False)
                self._chars -= len(evicted)

    def discard(self, blob_ids) -> None:
        with self._lock:
            for blob_id in blob_ids:
                old = self._entries.pop(blob_id, None)
                if old is not None:
                    self._chars -= len(old[0])


# --- interrupts named by their rows -------------------------------------------------------------
# An `__interrupt__` pending write holds a list of Interrupt objects, whose payloads, places and
# deadlines the interrupts table holds too. It may be stored as INTERRUPT_ROWS_TAG + a JSON list
# of [id, when] + "}" instead: its text is rebuilt from the rows by `interrupts_text`, and the
# saver stores that form only when the rebuilt text is exactly the text it replaces.

INTERRUPT_ROWS_TAG = '{"__engine_type__":"interrupt_rows","v":'
_INTERRUPT_TAG = '{"__engine_type__":"interrupt","v":'

#: the interrupts columns `interrupts_text` needs, in its order
INTERRUPT_ROW_FIELDS = "id, ns, node, payload, deadline, on_timeout"


def interrupt_refs(text: str) -> list[list[str]] | None:
    """[[id, when], ...] for the JSON text of a list of tagged Interrupt objects; None for any
    other text."""
    if not text.startswith("[" + _INTERRUPT_TAG):
        return None
    try:
        items = json.loads(text)
    except ValueError:
        return None
    refs = []
    for item in items:
        if not isinstance(item, dict) or item.get("__engine_type__") != "interrupt" or len(item) != 2:
            return None
        fields = item.get("v")
        if not isinstance(fields, dict) or not isinstance(fields.get("id"), str) \
                or not isinstance(fields.get("when"), str):
            return None
        refs.append([fields["id"], fields["when"]])
    return refs


def naming_interrupts(refs: list[list[str]]) -> str:
    """The short form of an interrupt write naming `refs` ([[id, when], ...])."""
    return INTERRUPT_ROWS_TAG + json.dumps(refs, ensure_ascii=False, separators=(",", ":")) + "}"


def named_interrupts(text: str) -> list[list[str]]:
    """The [[id, when], ...] a short form names."""
    return json.loads(text)["v"]


def interrupts_text(refs: list, rows: dict[str, tuple]) -> str | None:
    """The JSON text of the Interrupt list `refs` names, built from `rows` (id -> the row's
    INTERRUPT_ROW_FIELDS) the way serde writes an Interrupt; None if a row is missing."""
    parts = []
    for interrupt_id, when in refs:
        row = rows.get(interrupt_id)
        if row is None:
            return None
        _id, ns, node, payload, deadline, on_timeout = row
        parts.append(f'{_INTERRUPT_TAG}{{"value":{payload},"id":{_text(interrupt_id)},"ns":{_text(ns)},'
                     f'"node":{_text(node)},"when":{_text(when)},"deadline":{_text(deadline)},'
                     f'"on_timeout":{"null" if on_timeout is None else on_timeout}}}}}')
    return "[" + ",".join(parts) + "]"


def _text(value: str | None) -> str:
    return json.dumps(value, ensure_ascii=False)


# --- the stored checkpoint ------------------------------------------------------------------------
# A checkpoint row's JSON leaves out what the row gives back exactly:
# - its id (the checkpoint_id column): stored "" (schema version 3);
# - "ts", when it is the UTC isoformat() of a time near the time in the id (a UUID whose high 64
#   bits are nanoseconds, see ids.py): stored as the offset in microseconds;
# - each task's "id" (its last key), when it is the runtime's id for that task (task_id_for in
#   runtime/loop.py, copied here: this copy is part of the file format and never changes);
# - "channel_versions", when it lists the versions value_refs holds, in the same order: null.
# When any of the last three is left out, the stored id is the list of their names instead of ""
# (a list can never be an id: the id is also bound as an SQL parameter).

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def _id_micros(checkpoint_id: str) -> int | None:
    """The time in a checkpoint id (a UUID in canonical form whose high 64 bits are ns)."""
    if not _UUID.match(checkpoint_id):
        return None
    return int(checkpoint_id[:8] + checkpoint_id[9:13] + checkpoint_id[14:18], 16) // 1000


def _ts_at(micros: int) -> str:
    return (_EPOCH + timedelta(microseconds=micros)).isoformat()


def _same_json(a: dict, b: dict) -> bool:
    """Whether two dicts of scalars are written as the same JSON (1, 1.0 and True are not)."""
    return list(a) == list(b) and all(type(x) is type(y) and x == y and isinstance(x, (str, int, float))
                                      for x, y in zip(a.values(), b.values()))


def _task_id(checkpoint_id: str, ns: str, name: str, index: int) -> str:
    return hashlib.sha256(f"{checkpoint_id}\x00{ns}\x00{name}\x00{index}".encode()).hexdigest()[:32]


def _ref_versions(refs: list) -> dict:
    return {ref[0]: ref[1] for ref in refs if ref[1] is not None}


def compact_checkpoint(checkpoint: dict, ns: str, refs: list) -> dict:
    """The checkpoint to store (a copy; `checkpoint` is what aput stores otherwise: its id is
    the column's). `refs` are the [channel, version, ...] value_refs the row will hold."""
    checkpoint_id = checkpoint.get("id")
    if not isinstance(checkpoint_id, str):
        return checkpoint
    stored = dict(checkpoint)
    left_out = []
    ts = stored.get("ts")
    micros = _id_micros(checkpoint_id)
    if isinstance(ts, str) and micros is not None:
        try:
            since = datetime.fromisoformat(ts) - _EPOCH
            offset = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds - micros
        except (TypeError, ValueError, OverflowError):
            offset = None
        if offset is not None and abs(offset) < 1 << 40 and _ts_at(micros + offset) == ts:
            stored["ts"] = offset
            left_out.append("ts")
    tasks = stored.get("tasks")
    if isinstance(tasks, list) and tasks and all(isinstance(t, dict) and list(t)[-1:] == ["id"] for t in tasks):
        shortened = [
            {k: v for k, v in task.items() if k != "id"}
            if isinstance(task.get("name"), str) and task["id"] == _task_id(checkpoint_id, ns, task["name"], index)
            else task
            for index, task in enumerate(tasks)]
        if any("id" not in task for task in shortened):
            stored["tasks"] = shortened
            left_out.append("tasks")
    versions = stored.get("channel_versions")
    if isinstance(versions, dict) and _same_json(versions, _ref_versions(refs)):
        stored["channel_versions"] = None
        left_out.append("versions")
    stored["id"] = left_out or ""
    return stored


def expand_checkpoint(stored: dict, checkpoint_id: str, ns: str, refs: list) -> dict:
    """The checkpoint `compact_checkpoint` stored (in place). Rows written before schema
    version 3 hold their id and everything else: they are returned as they are."""
    left_out = stored.get("id")
    if left_out == "":
        stored["id"] = checkpoint_id
    elif isinstance(left_out, list):
        stored["id"] = checkpoint_id
        if "ts" in left_out:
            stored["ts"] = _ts_at(_id_micros(checkpoint_id) + stored["ts"])
        if "tasks" in left_out:
            for index, task in enumerate(stored["tasks"]):
                if "id" not in task:
                    task["id"] = _task_id(checkpoint_id, ns, task["name"], index)
        if "versions" in left_out:
            stored["channel_versions"] = _ref_versions(refs)
    return stored


# --- time -------------------------------------------------------------------------------------

def utc_iso(moment: datetime) -> str:
    """Fixed-width ISO-8601 UTC (microseconds always present) so stored times sort as text."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def stored_time(text: str) -> int | str:
    """What a column of times without text affinity (events.at) holds for a `utc_iso` text:
    microseconds since 1970 (8 bytes instead of 32); other text as it is."""
    if len(text) == 32 and text[10] == "T" and text.endswith("+00:00"):
        try:
            since = datetime.fromisoformat(text) - _EPOCH
        except ValueError:
            return text
        micros = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds
        if time_text(micros) == text:
            return micros
    return text


def time_text(value: int | str) -> str:
    """The text `stored_time` was given."""
    if isinstance(value, int):
        return (_EPOCH + timedelta(microseconds=value)).isoformat(timespec="microseconds")
    return value


def normalize_ts(value: str | None) -> str | None:
    """Normalise an ISO-8601 time to `utc_iso` form; text that is not a time is kept as is."""
    if value is None:
        return None
    if len(value) == 32 and value[10] == "T" and value[19] == "." and value.endswith("+00:00"):
        return value  # already in that form (what the runtime's UTC isoformat() usually gives)
    try:
        return utc_iso(datetime.fromisoformat(value))
    except (TypeError, ValueError):
        return value


# --- id lists -----------------------------------------------------------------------------------
_CHUNK = 500  # ids per IN (...) list


def chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


__all__ = ["CrossLoopLock", "append_suffix", "join_lists", "BlobCache", "INTERRUPT_ROWS_TAG",
           "INTERRUPT_ROW_FIELDS", "interrupt_refs", "naming_interrupts", "named_interrupts",
           "interrupts_text", "compact_checkpoint", "expand_checkpoint", "stored_time", "time_text",
           "utc_iso", "normalize_ts", "chunks"]
