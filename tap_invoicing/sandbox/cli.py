"""``tap-invoicing-sandbox``: serve an emulated invoicing API until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from tap_invoicing.sandbox.harness import EMULATORS, Sandbox

PROVIDER_OPTIONS: dict[str, tuple[str, ...]] = {
    "revolv3": ("list_shape", "max_page"),
    "paypal": ("list_shape", "max_page", "token_lifetime"),
}
"""The emulator options the CLI offers, per provider that has them."""

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
    parser.add_argument(
        "--list-shape",
        choices=("summary", "full"),
        help="revolv3, paypal: list items as documented summaries (default) or full invoices",
    )
    parser.add_argument(
        "--max-page",
        type=int,
        metavar="N",
        help="revolv3, paypal: the highest page number the list serves (default 1000)",
    )
    parser.add_argument(
        "--token-lifetime",
        type=float,
        metavar="SECONDS",
        help="paypal only: how long an access token works (default 32400)",
    )
    return parser


def _emulator_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    """The provider options given on the command line; refuses those the provider lacks."""
    offered = {name for names in PROVIDER_OPTIONS.values() for name in names}
    given = {name: getattr(args, name) for name in sorted(offered)}
    given = {name: value for name, value in given.items() if value is not None}
    refused = set(given) - set(PROVIDER_OPTIONS.get(args.provider, ()))
    if refused:
        offers = "; ".join(
            f"{provider} options: {', '.join(_flag(name) for name in names)}"
            for provider, names in PROVIDER_OPTIONS.items()
        )
        refused_flags = ", ".join(_flag(name) for name in sorted(refused))
        parser.error(f"{args.provider} takes no {refused_flags} ({offers})")
    if given.get("max_page", 1) < 1:
        parser.error("--max-page must be >= 1")
    if given.get("token_lifetime", 1) <= 0:
        parser.error("--token-lifetime must be > 0")
    return given


def _flag(option: str) -> str:
    """The command-line flag of an emulator option."""
    return "--" + option.replace("_", "-")


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
