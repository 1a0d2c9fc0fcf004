"""A terminal app in a real terminal: tmux, driven and watched through one control-mode client.

    with Terminal(["inbox", "open", "--db", path], size=(160, 45)) as term:
        term.wait_quiet()
        key = term.press("j")          # one key, then wait until the app stops writing
        key.first_output, key.settled("list"), key.cpu    # seconds, seconds, nanoseconds

Why control mode (`tmux -C attach`): tmux reports every byte the app writes to its terminal as
an `%output` line the moment it reads it, and takes `send-keys` commands on the same pipe, so
neither a key nor a look at the screen costs a process start (polling `capture-pane` would fork
a tmux client per look, on the same two cores the app runs on).

What the app wrote is replayed into `ScreenModel`, a small terminal emulator that knows the few
sequences Textual writes (cursor moves, SGR colours, text). That says *what* changed and when:
a key's list region is "settled" from the first chunk of output after which it no longer
changes. `Terminal.check_model()` compares the model's text with tmux's own `capture-pane`, so
a sequence the model misreads shows up as a failed check, not as a wrong figure.

The app's CPU time comes from /proc/PID/task/*/schedstat (nanoseconds, every thread: the
event loop, Textual's input and writer threads, aiosqlite's), read before each key and again
as each chunk of output arrives.
"""

from __future__ import annotations

import codecs
import os
import re
import shlex
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

CSI = re.compile(rb"\x1b\[([0-?]*)([ -/]*)([@-~])")
CURSOR_TO = re.compile(rb"\x1b\[(\d+);\d+[Hf]")
ESCAPED = re.compile(rb"\\([0-7]{3})")


# --- the app's CPU time ---------------------------------------------------------------------------
def cpu_ns(pid: int) -> int:
    """CPU time of every thread of `pid` so far, in nanoseconds (0 once it has exited)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass  # a thread that ended between listing and reading
    return total


# --- what the app's output does to the screen -----------------------------------------------------
class ScreenModel:
    """Cells of (character, SGR attributes since the last reset), fed the app's bytes in chunks
    (a chunk may end inside a UTF-8 character or an escape sequence: the tail waits)."""

    def __init__(self, columns: int, rows: int):
        self.columns, self.rows = columns, rows
        self.cells = [[(" ", "")] * columns for _ in range(rows)]
        self.row = self.column = 0
        self.attrs = ""
        self._decode = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = b""

    def feed(self, data: bytes) -> None:
        data = self._pending + data
        self._pending = b""
        at = 0
        while at < len(data):
            escape = data.find(b"\x1b", at)
            if escape < 0:
                self._text(data[at:])
                return
            self._text(data[at:escape])
            at = escape
            end = self._sequence(data, at)
            if end is None:  # cut off at the chunk's end: wait for the rest
                self._pending = data[at:]
                return
            at = end

    def _sequence(self, data: bytes, at: int) -> int | None:
        if at + 1 >= len(data):
            return None
        kind = data[at + 1:at + 2]
        if kind == b"[":
            match = CSI.match(data, at)
            if match is None:
                # Incomplete only if nothing but parameter/intermediate bytes follow.
                return None if re.fullmatch(rb"\x1b\[[0-?]*[ -/]*", data[at:]) else at + 2
            self._csi(match.group(1).decode("latin-1"), match.group(3).decode("latin-1"))
            return match.end()
        if kind in (b"]", b"P", b"_", b"^"):  # OSC/DCS/APC/PM: up to BEL or ST
            ends = [i for i in (data.find(b"\x07", at), data.find(b"\x1b\\", at)) if i >= 0]
            if not ends:
                return None
            end = min(ends)
            return end + (1 if data[end:end + 1] == b"\x07" else 2)
        return at + 2  # ESC 7, ESC =, …: nothing on screen

    def _csi(self, params: str, final: str) -> None:
        if params.startswith("?") or params.startswith(">") or params.startswith("<"):
            return  # private modes (alternate screen, mouse, synchronized output)
        numbers = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []
        first = numbers[0] if numbers else 0
        if final in "Hf":
            row = numbers[0] if len(numbers) > 0 and numbers[0] else 1
            column = numbers[1] if len(numbers) > 1 and numbers[1] else 1
            self.row, self.column = min(row, self.rows) - 1, min(column, self.columns) - 1
        elif final == "m":
            self.attrs = "" if params in ("", "0") else self.attrs + params + ";"
        elif final == "J" and first == 2:
            self.cells = [[(" ", "")] * self.columns for _ in range(self.rows)]
        elif final == "K":
            start, stop = {0: (self.column, self.columns), 1: (0, self.column + 1)}.get(first, (0, self.columns))
            line = self.cells[self.row]
            line[start:stop] = [(" ", self.attrs)] * (stop - start)
        elif final in "ABCD":
            step = max(first, 1)
            if final == "A":
                self.row = max(0, self.row - step)
            elif final == "B":
                self.row = min(self.rows - 1, self.row + step)
            elif final == "C":
                self.column = min(self.columns - 1, self.column + step)
            else:
                self.column = max(0, self.column - step)
        elif final == "G":
            self.column = min(max(first, 1), self.columns) - 1
        elif final == "d":
            self.row = min(max(first, 1), self.rows) - 1

    def _text(self, data: bytes) -> None:
        from rich.cells import get_character_cell_size

        for char in self._decode.decode(data):
            if char == "\r":
                self.column = 0
            elif char == "\n":
                self.row = min(self.row + 1, self.rows - 1)
            elif char == "\b":
                self.column = max(0, self.column - 1)
            elif char < " " or char == "\x7f":
                continue
            else:
                width = get_character_cell_size(char)
                if width == 0 or self.column >= self.columns:
                    continue
                line = self.cells[self.row]
                line[self.column] = (char, self.attrs)
                if width == 2 and self.column + 1 < self.columns:
                    line[self.column + 1] = ("", self.attrs)
                self.column += width

    def region(self, rows: range, columns: range) -> tuple:
        return tuple(tuple(self.cells[r][columns.start:columns.stop]) for r in rows)

    def text(self) -> list[str]:
        return ["".join(char for char, _attrs in line).rstrip() for line in self.cells]


# --- one key and what followed ----------------------------------------------------------------------
@dataclass
class Chunk:
    at: float      # time.perf_counter() when tmux's report of it was read
    cpu: int       # the app's CPU time then (ns)
    data: bytes
    rows: frozenset[int] = frozenset()  # the screen rows (0-based) it writes on


@dataclass
class KeyResult:
    """One key (or a train of keys): when it was sent, and the output and CPU time that followed
    until the app had been quiet for a while."""

    keys: list[str]
    sent: float    # when the first key was sent (time.perf_counter())
    cpu_before: int
    cpu_after: int
    chunks: list[Chunk]
    settled_at: dict[str, float | None] = field(default_factory=dict)  # region -> seconds after sending
    settled_cpu: dict[str, int | None] = field(default_factory=dict)
    sends: list[float] = field(default_factory=list)  # when each key was sent

    @property
    def first_output(self) -> float | None:
        return self.chunks[0].at - self.sent if self.chunks else None

    @property
    def cpu_to_first_output(self) -> int | None:
        return self.chunks[0].cpu - self.cpu_before if self.chunks else None

    @property
    def cpu(self) -> int:
        """Everything the app spent from the key until it had been quiet for a while."""
        return self.cpu_after - self.cpu_before

    def settled(self, region: str) -> float | None:
        return self.settled_at.get(region)


class Terminal:
    """`command` in a detached tmux session of `size` (columns, rows), watched through a
    control-mode client. Regions are named (rows, columns) ranges of the screen whose
    settling times each key reports."""

    _sessions = 0  # sessions started by this process

    def __init__(self, command: list[str], size: tuple[int, int] = (160, 45), env: dict[str, str] | None = None,
                 regions: dict[str, tuple[range, range]] | None = None):
        self.command, self.size, self.env = command, size, env or {}
        columns, rows = size
        self.regions = regions or {"screen": (range(rows), range(columns))}
        Terminal._sessions += 1  # one name per session: a closed one may linger in tmux for a moment
        self.session = f"bench{os.getpid()}-{Terminal._sessions}"
        self.model = ScreenModel(columns, rows)
        self.chunks: list[Chunk] = []
        self._fed = 0  # chunks replayed into the model so far
        self.pid = 0
        self._control: subprocess.Popen | None = None

    def __enter__(self) -> "Terminal":
        columns, rows = self.size
        env = " ".join(f"{name}={shlex.quote(value)}" for name, value in self.env.items())
        # `exec env …`: the pane's process is the app itself, so its pid is the one to watch.
        script = f"exec env {env} {shlex.join(self.command)}"
        out = subprocess.run(["tmux", "new-session", "-d", "-P", "-F", "#{pane_pid}", "-s", self.session,
                              "-x", str(columns), "-y", str(rows), script], capture_output=True, text=True, check=True)
        self.started = time.perf_counter()
        self.pid = int(out.stdout.strip())
        # A control client must not resize the window: keep it at `size`.
        subprocess.run(["tmux", "set-option", "-t", self.session, "window-size", "manual"], check=True)
        self._control = subprocess.Popen(["tmux", "-C", "attach-session", "-t", self.session],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)
        if self._control is not None:
            self._control.wait(timeout=10)

    def _read(self) -> None:
        assert self._control is not None and self._control.stdout is not None
        row = 0
        for line in self._control.stdout:
            if line.startswith(b"%output "):
                at = time.perf_counter()
                data = line.split(b" ", 2)[2].rstrip(b"\n")
                data = ESCAPED.sub(lambda m: bytes([int(m.group(1), 8)]), data)
                # Textual moves the cursor to each line it writes; a chunk that does not start
                # with a move continues the previous chunk's last line.
                moves = [int(row) - 1 for row in CURSOR_TO.findall(data)]
                rows = set(moves) if data.startswith(b"\x1b[") and CURSOR_TO.match(data) else {row}
                rows.update(moves)
                row = moves[-1] if moves else row
                self.chunks.append(Chunk(at, cpu_ns(self.pid), data, frozenset(rows)))

    # --- driving --------------------------------------------------------------------------------
    def send(self, key: str) -> float:
        """Send one key (a tmux key name: `j`, `Escape`, `Enter`, `/`); returns when it was sent."""
        assert self._control is not None and self._control.stdin is not None
        command = f"send-keys -t {self.session} {shlex.quote(key)}\n".encode()
        at = time.perf_counter()
        self._control.stdin.write(command)
        return at

    def wait_started(self, shows: str, quiet: float = 1.0, timeout: float = 120.0) -> float:
        """Wait for the app's first screen: until the screen shows `shows`, then `quiet` seconds
        of no output. Returns when it last wrote, in seconds after the session started."""
        deadline = time.perf_counter() + timeout
        while not any(shows in line for line in self.model.text()):
            if time.perf_counter() > deadline or not self.alive():
                screen = "\n".join(self.capture())
                raise TimeoutError(f"the app did not show {shows!r} (alive: {self.alive()}); tmux shows:\n{screen}")
            time.sleep(0.05)
            self._catch_up()
        return self.wait_quiet(quiet, timeout) - self.started

    def wait_quiet(self, quiet: float = 0.8, timeout: float = 30.0, since: float | None = None,
                   ignore_rows: frozenset[int] = frozenset()) -> float:
        """Wait until the app has written nothing for `quiet` seconds (counting from `since`,
        if it has written nothing since then). Returns the time of its last output. Writes
        only on `ignore_rows` do not count (a text box's blinking cursor)."""
        start = time.perf_counter() if since is None else since
        deadline = time.perf_counter() + timeout
        while True:
            last = next((c.at for c in reversed(self.chunks) if not c.rows <= ignore_rows), start)
            last = max(last, start)
            now = time.perf_counter()
            if now - last >= quiet:
                return last
            if now > deadline:
                raise TimeoutError(f"the app kept writing for {timeout} s")
            time.sleep(min(0.02, quiet / 10))

    def press(self, *keys: str, interval: float = 0.0, quiet: float = 0.8, ignore_rows: frozenset[int] = frozenset(),
              regions: dict[str, tuple[range, range]] | None = None,
              until: Callable[[list[str]], bool] | None = None, timeout: float = 30.0) -> KeyResult:
        """Send `keys` (`interval` seconds apart), wait until the app is quiet (see `wait_quiet`),
        and replay what it wrote into the screen model to see when each region (default: the
        terminal's) settled. `until`: first wait until tmux's screen (its lines) satisfies it,
        for an app that may think longer than `quiet` without writing (looked at every 0.1 s:
        it only decides when to stop waiting; the times come from the output)."""
        regions = regions or self.regions
        self._catch_up()
        mark = len(self.chunks)
        before = {name: self.model.region(*where) for name, where in regions.items()}
        cpu_before = cpu_ns(self.pid)
        sends = [self.send(keys[0])]
        for key in keys[1:]:
            time.sleep(max(0.0, sends[0] + interval * len(sends) - time.perf_counter()))
            sends.append(self.send(key))
        sent = sends[0]
        deadline = time.perf_counter() + timeout
        while until is not None and not until(self.capture()):
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the screen did not show what {keys} should do")
            time.sleep(0.1)
        self.wait_quiet(quiet, since=sends[-1], ignore_rows=ignore_rows)
        result = KeyResult(list(keys), sent, cpu_before, cpu_ns(self.pid), self.chunks[mark:], sends=sends)
        states = []
        for chunk in result.chunks:
            self.model.feed(chunk.data)
            states.append({name: self.model.region(*where) for name, where in regions.items()})
        self._fed = mark + len(result.chunks)
        for name in regions:
            final = states[-1][name] if states else before[name]
            if final == before[name] and all(state[name] == final for state in states):
                result.settled_at[name], result.settled_cpu[name] = None, None  # did not change
                continue
            index = len(states)
            while index > 0 and states[index - 1][name] == final:
                index -= 1
            chunk = result.chunks[index]
            result.settled_at[name] = chunk.at - sent
            result.settled_cpu[name] = chunk.cpu - cpu_before
        return result

    def _catch_up(self) -> None:
        """Replay output that came between keys (a timer's repaint) into the model."""
        end = len(self.chunks)  # the reader thread may append meanwhile: those wait for the next time
        for chunk in self.chunks[self._fed:end]:
            self.model.feed(chunk.data)
        self._fed = end

    # --- looking --------------------------------------------------------------------------------
    def capture(self) -> list[str]:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.session], capture_output=True, text=True,
                             check=True)
        lines = [line.rstrip() for line in out.stdout.split("\n")][:self.size[1]]
        return lines + [""] * (self.size[1] - len(lines))

    def check_model(self, ignore_rows: frozenset[int] = frozenset()) -> list[str]:
        """Lines where the screen model and tmux disagree (none: the model read the output right).
        Compared once the app is quiet; `ignore_rows` as in `wait_quiet`."""
        differ: list[str] = []
        for _attempt in range(3):  # the app may write between our catching up and tmux's capture
            self.wait_quiet(0.3, ignore_rows=ignore_rows)
            self._catch_up()
            ours, tmux = self.model.text(), self.capture()
            differ = [f"line {n + 1}: model {a!r} / tmux {b!r}" for n, (a, b) in enumerate(zip(ours, tmux))
                      if a != b and n not in ignore_rows]
            if not differ:
                break
        return differ

    def idle_cpu(self, seconds: float) -> tuple[float, int]:
        """CPU seconds per second the app spends with no key pressed, and how many chunks it wrote."""
        self._catch_up()
        mark, before, began = len(self.chunks), cpu_ns(self.pid), time.perf_counter()
        time.sleep(seconds)
        spent = (cpu_ns(self.pid) - before) / 1e9
        return spent / (time.perf_counter() - began), len(self.chunks) - mark

    def alive(self) -> bool:
        return os.path.exists(f"/proc/{self.pid}")
