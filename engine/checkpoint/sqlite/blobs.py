"""Channel values as stored blobs, without the database: the append-delta encoding of a list
value that extends the previous one, and a cache of recent list values (what the next delta is
computed against and what a read of a recent value returns without joining its chain)."""

from __future__ import annotations

import threading
from collections import OrderedDict


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


__all__ = ["append_suffix", "join_lists", "BlobCache"]
