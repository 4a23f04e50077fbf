"""Emulator options on the command line: each emulator class lists the constructor options
``tap-invoicing-sandbox`` offers for it (its ``cli_options``), and the command offers every
option some emulator takes as ``--<name>``, refusing it for a provider whose emulator does not.

The options several emulators share are defined here, once; an option only one emulator takes
is defined with that emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _any_value(value: Any) -> bool:
    return True


@dataclass(frozen=True)
class EmulatorOption:
    """One keyword of an emulator's constructor, as the command line offers it."""

    name: str
    """The constructor's keyword; the flag is ``--`` and the name with dashes."""
    help: str
    """What it does, for ``--help`` (which puts the providers that take it first)."""
    type: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    valid: Callable[[Any], bool] = _any_value
    """Whether a value (as ``type`` read it) is acceptable."""
    requirement: str = ""
    """What ``valid`` asks, for the error: ``must be >= 1``."""

    @property
    def flag(self) -> str:
        """The command-line flag: ``--max-page`` for ``max_page``."""
        return "--" + self.name.replace("_", "-")


def _at_least_one(value: int) -> bool:
    return value >= 1


LIST_SHAPE = EmulatorOption(
    "list_shape",
    "list items as documented summaries (default) or full invoices",
    choices=("summary", "full"),
)
MAX_PAGE = EmulatorOption(
    "max_page",
    "the highest page number the list serves (default 1000)",
    type=int,
    metavar="N",
    valid=_at_least_one,
    requirement="must be >= 1",
)
