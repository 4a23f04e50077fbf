"""``tap-invoicing-sandbox``: serve an emulated invoicing API until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from tap_invoicing.sandbox.harness import EMULATORS, Sandbox
from tap_invoicing.sandbox.options import EmulatorOption

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
"""What stops the sandbox: a kill, or Ctrl-C."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tap-invoicing-sandbox",
        description="Serve a seeded, local emulation of an invoicing API on 127.0.0.1.",
    )
    parser.add_argument("--provider", choices=sorted(EMULATORS), default="cybersource")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--invoices", type=int, default=200, help="number of invoices (200)")
    parser.add_argument("--seed", type=int, default=1, help="data and credentials seed (1)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every response")
    parser.add_argument(
        "--latency-jitter",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="each response's latency within +-FRACTION of --latency-ms (0-1, default 0)",
    )
    parser.add_argument(
        "--shed-above",
        type=int,
        metavar="N",
        help="answer 429 to a request arriving while N are in flight (load shedding)",
    )
    parser.add_argument(
        "--shed-without-retry-after",
        action="store_true",
        help="with --shed-above: send the 429s without Retry-After (default: Retry-After: 1)",
    )
    parser.add_argument(
        "--write-config", type=Path, metavar="FILE", help="write a ready tap config JSON here"
    )
    for option, providers in _offered_options().values():
        parser.add_argument(
            option.flag,
            type=option.type,
            choices=option.choices,
            metavar=option.metavar,
            help=f"{_taken_by(providers)}: {option.help}",
        )
    return parser


def _offered_options() -> dict[str, tuple[EmulatorOption, list[str]]]:
    """Every option an emulator takes (its class's ``cli_options``), by name, in the order the
    emulators list them, with the providers that take it."""
    offered: dict[str, tuple[EmulatorOption, list[str]]] = {}
    for provider, emulator in EMULATORS.items():
        for option in emulator.cli_options:
            known, providers = offered.setdefault(option.name, (option, []))
            if known != option:
                msg = f"{option.flag}: the {providers[0]} and {provider} emulators differ on it"
                raise ValueError(msg)
            providers.append(provider)
    return offered


def _taken_by(providers: list[str]) -> str:
    """``revolv3, paypal``, or ``paypal only``."""
    return ", ".join(providers) if len(providers) > 1 else f"{providers[0]} only"


def _emulator_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    """The provider options given on the command line; refuses those the provider lacks."""
    offered = _offered_options()
    given = {name: getattr(args, name) for name in sorted(offered)}
    given = {name: value for name, value in given.items() if value is not None}
    refused = set(given) - {option.name for option in EMULATORS[args.provider].cli_options}
    if refused:
        offers = "; ".join(
            f"{provider} options: {', '.join(option.flag for option in emulator.cli_options)}"
            for provider, emulator in EMULATORS.items()
            if emulator.cli_options
        )
        refused_flags = ", ".join(offered[name][0].flag for name in sorted(refused))
        parser.error(f"{args.provider} takes no {refused_flags} ({offers})")
    for option, _ in offered.values():
        if option.name in given and not option.valid(given[option.name]):
            parser.error(f"{option.flag} {option.requirement}")
    return given


def main(argv: list[str] | None = None) -> int:
    """Start the sandbox, announce its URL on stderr, serve until a stop signal."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.invoices < 0 or args.latency_ms < 0 or not 0 <= args.port <= 65535:
        parser.error("--invoices and --latency-ms must be >= 0, --port within 0-65535")
    if not 0 <= args.latency_jitter <= 1 or (args.shed_above is not None and args.shed_above < 1):
        parser.error("--latency-jitter must be within 0-1, --shed-above >= 1")
    options = _emulator_options(parser, args)
    # Blocked before the server's threads start, which inherit the mask, so that the stop
    # signal waits for sigwait below: a Python handler could run only once the main thread
    # ran again, and a signal the kernel gave a server thread left it waiting for ever.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    sandbox = Sandbox(
        provider=args.provider,
        invoices=args.invoices,
        seed=args.seed,
        port=args.port,
        latency=args.latency_ms / 1000,
        latency_jitter=args.latency_jitter,
        shed_above=args.shed_above,
        shed_retry_after=not args.shed_without_retry_after,
        **options,
    )
    with sandbox:
        if args.write_config is not None:
            sandbox.write_config(args.write_config)
        print(
            f"tap-invoicing-sandbox: {args.provider} API on {sandbox.base_url} "
            f"({args.invoices} invoices, seed {args.seed})",
            file=sys.stderr,
            flush=True,
        )
        signal.sigwait(STOP_SIGNALS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
