"""Inbox settings: who the reviewer is, which keys do what, and the theme.

Read from a TOML file (`$INBOX_CONFIG`, else `$XDG_CONFIG_HOME/agent-inbox/config.toml`, else
`~/.config/agent-inbox/config.toml`), then environment variables, which win:
    reviewer = "dana"            # INBOX_REVIEWER=dana
    theme = "nord"               # INBOX_THEME=nord   (a Textual theme; default textual-dark)
    undo_seconds = 5             # INBOX_UNDO_SECONDS=0  (the undo window; 0 sends at once)
    reject_reasons = ["Not approved by policy", "Wrong amount"]   # offered when rejecting
    columns = ["action", "age"]  # the list's optional columns (of action, thread, allowed, age)
    notify = ["bell", "desktop"] # on new and overdue requests (default ["bell"]; [] for quiet)
    [keys]
    accept = "y"                 # INBOX_KEY_ACCEPT=y   (a binding id from `?` help)
    cursor_down = "j,down,ctrl+n"
    [servers.prod]               # `inbox open --url prod`: an Agent Server by name
    url = "https://agents.example.com"
    api_key_env = "PROD_LANGGRAPH_KEY"   # the variable holding its key (never the key itself)
    poll_seconds = 2.0           # how often a LangGraph server is polled for changes
"""

from __future__ import annotations

import getpass
import os
import tomllib
from pathlib import Path
from typing import Mapping

from pydantic import BaseModel, Field, ValidationError, field_validator

from engine.constants import reserved_decider

DEFAULT_THEME = "textual-dark"  # the inbox's look, and the snapshots'


def theme_names() -> list[str]:
    from textual.theme import BUILTIN_THEMES

    return sorted(BUILTIN_THEMES)


class SettingsError(ValueError):
    """The config file or an INBOX_* variable is invalid."""


def _default_reviewer() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (containers)
        return "reviewer"


class ServerEntry(BaseModel):
    """A named Agent Server: where it is and which environment variable holds its key."""

    model_config = {"extra": "forbid"}

    url: str = Field(min_length=1)
    api_key_env: str | None = None
    poll_seconds: float = Field(default=2.0, gt=0)


class InboxSettings(BaseModel):
    model_config = {"extra": "forbid"}

    reviewer: str = Field(default_factory=_default_reviewer, min_length=1)
    keys: dict[str, str] = Field(default_factory=dict)  # binding id -> comma-separated keys
    toast_seconds: float = Field(default=6.0, gt=0)
    # A decision waits this long (a countdown on its row) before it is claimed; `u` takes it
    # back meanwhile. 0 sends at once.
    undo_seconds: float = Field(default=5.0, ge=0, le=3600)
    # Reasons offered when rejecting a multi-action (LangChain v1) request; the agent gets the text.
    reject_reasons: list[str] = Field(default_factory=list)
    # How new and overdue requests get your attention: "bell" (the terminal's), "desktop"
    # (OSC 9 / 777 to the terminal, and notify-send when it is installed); [] for neither.
    notify: list[str] = Field(default_factory=lambda: ["bell"])
    # After this many accepts in a row of one tool, the inbox suggests a rule (0: never).
    suggest_rule_after: int = Field(default=3, ge=0)

    @field_validator("notify")
    @classmethod
    def _known_notifications(cls, notify: list[str]) -> list[str]:
        unknown = [n for n in notify if n not in ("bell", "desktop")]
        if unknown:
            raise ValueError(f"unknown notification(s) {', '.join(map(repr, unknown))}; use \"bell\" and/or \"desktop\"")
        return notify
    # The list's optional columns, in any order of these (the mark, status and description always show).
    columns: list[str] = Field(default_factory=lambda: ["action", "thread", "allowed", "age"])

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, columns: list[str]) -> list[str]:
        known = ("action", "thread", "allowed", "age")
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise ValueError(f"unknown column(s) {', '.join(map(repr, unknown))}; choose from {', '.join(known)}")
        return columns
    theme: str = DEFAULT_THEME
    servers: dict[str, ServerEntry] = Field(default_factory=dict)

    @field_validator("theme")
    @classmethod
    def _theme_exists(cls, theme: str) -> str:
        if theme not in theme_names():
            raise ValueError(f"no theme named {theme!r}; the themes are {', '.join(theme_names())}")
        return theme

    @field_validator("reviewer")
    @classmethod
    def _reviewer_is_a_person(cls, reviewer: str) -> str:
        reserved = reserved_decider(reviewer)
        if reserved is not None:  # refused at start, not at the first decision
            raise ValueError(reserved)
        return reviewer

    @field_validator("keys")
    @classmethod
    def _keys_not_empty(cls, keys: dict[str, str]) -> dict[str, str]:
        for binding_id, spec in keys.items():
            if not spec.strip():
                raise ValueError(f"keys.{binding_id} is empty; give one or more keys, e.g. \"y\" or \"y,enter\"")
        return keys


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("INBOX_CONFIG"):
        return Path(env["INBOX_CONFIG"])
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "agent-inbox" / "config.toml"


def load_settings(path: Path | None = None, env: Mapping[str, str] = os.environ) -> InboxSettings:
    path = path or config_path(env)
    data: dict = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SettingsError(f"{path} is not valid TOML ({error}); fix it or move it away") from None
    if env.get("INBOX_REVIEWER"):
        data["reviewer"] = env["INBOX_REVIEWER"]
    if env.get("INBOX_THEME"):
        data["theme"] = env["INBOX_THEME"]
    if env.get("INBOX_UNDO_SECONDS"):
        data["undo_seconds"] = env["INBOX_UNDO_SECONDS"]
    keys = dict(data.get("keys") or {})
    for name, value in env.items():
        if name.startswith("INBOX_KEY_"):
            keys[name[len("INBOX_KEY_"):].lower()] = value
    if keys:
        data["keys"] = keys
    try:
        return InboxSettings.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise SettingsError(f"invalid inbox settings (from {path} and INBOX_* variables): {problems}") from None
