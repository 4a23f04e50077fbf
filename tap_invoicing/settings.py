"""The tap's settings: the JSON schema users see, and the checks a schema cannot express.

The settings every provider shares are here; each provider adds its own (credentials, options)
through its :class:`~tap_invoicing.core.provider.Provider`.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jsonschema.validators import validator_for
from singer_sdk import typing as th

from tap_invoicing.core.dates import parse_time
from tap_invoicing.core.run_settings import (
    AUTO,
    DEFAULT_MAX_LIST_PAGES,
    DEFAULT_MAX_WORKERS_CEILING,
    DEFAULT_REQUEST_TIMEOUT,
    fixed_workers,
)

if TYPE_CHECKING:
    from tap_invoicing.core.provider import Provider

MAX_WORKERS = 256
"""The most requests at once either setting allows: past it, a run is limited by this machine's
CPU, not by round trips."""
MAX_REQUESTS_PER_SECOND = 1000
MAX_REQUEST_TIMEOUT = 3600
MIN_REQUESTS_PER_SECOND = 0.01
"""One request per 100 s: any slower and an ordinary account takes days, which is a typo."""


def config_schema(providers: Sequence[Provider]) -> dict[str, Any]:
    """Settings shared by every provider, then each provider's own.

    The SDK fills a schema ``default`` into the config the tap reads, so only settings whose
    default is the same for every provider declare one; the others describe theirs per provider.
    """
    own = {setting.name: setting for provider in providers for setting in provider.settings}
    return th.PropertiesList(
        th.Property(
            "provider",
            th.StringType,
            required=True,
            allowed_values=[provider.name for provider in providers],
            title="Provider",
            description=f"Which invoicing API to extract from: {_one_of(providers)}.",
        ),
        th.Property(
            "environment",
            th.StringType,
            allowed_values=sorted({env for provider in providers for env in provider.environments}),
            title="Environment",
            description=(
                "Which of the provider's API hosts to read (base_url, when set, replaces it). "
                + "; ".join(_environments(provider) for provider in providers)
                + "."
            ),
        ),
        th.Property(
            "base_url",
            th.StringType,
            title="Base URL",
            description=(
                "Replaces the environment's API root, e.g. http://127.0.0.1:8123 for the bundled "
                "sandbox (tap-invoicing-sandbox). Must be https unless the host is loopback."
            ),
        ),
        *own.values(),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start Date",
            description=(
                "ISO 8601 date or date-time, e.g. 2024-01-01 (UTC unless it says otherwise): only "
                "the invoices dated from then on are emitted, by one date per provider: "
                + "; ".join(
                    f"{provider.name}: {provider.start_date_meaning}" for provider in providers
                )
                + ". An invoice without that date is emitted. Unset: the whole account."
            ),
        ),
        th.Property(
            "end_date",
            th.DateTimeType,
            title="End Date",
            description=(
                "ISO 8601 date or date-time after start_date, exclusive: only the invoices dated "
                "before it (by start_date's date) are emitted, e.g. 2026-04-01 with start_date "
                "2026-01-01 for the first quarter of 2026. A state made with an end_date gives a "
                "run with a later or no end_date a full pass. Unset: no end."
            ),
        ),
        th.Property(
            "page_size",
            th.IntegerType,
            title="Page Size",
            description=(
                "Invoices per list page; the defaults are the APIs' maximums. "
                + "; ".join(
                    f"{provider.name}: 1-{provider.max_page_size}, default "
                    f"{provider.default_page_size}"
                    for provider in providers
                )
                + "."
            ),
        ),
        th.Property(
            "max_list_pages",
            th.IntegerType,
            default=DEFAULT_MAX_LIST_PAGES,
            title="Max List Pages",
            description=_page_cap(providers),
        ),
        th.Property(
            "request_timeout",
            th.IntegerType,
            default=DEFAULT_REQUEST_TIMEOUT,
            title="Request Timeout",
            description=(
                "Seconds a whole response (headers and body) may take before the request is "
                f"retried, 1-{MAX_REQUEST_TIMEOUT}."
            ),
        ),
        th.Property(
            "max_workers",
            # Not "integer": the SDK would read TAP_INVOICING_MAX_WORKERS=auto with int().
            th.CustomType({"type": ["string", "number"]}),
            title="Max Workers",
            default=AUTO,
            description=(
                "Requests at once: auto (the default) adapts to the API's latency and its 429s "
                f"between 1 and max_workers_ceiling; a number (1-{MAX_WORKERS}) is a fixed pool, "
                "1 fetches one at a time."
            ),
        ),
        th.Property(
            "max_workers_ceiling",
            th.IntegerType,
            title="Max Workers Ceiling",
            default=DEFAULT_MAX_WORKERS_CEILING,
            description=(
                f"With max_workers auto: the most requests at once (1-{MAX_WORKERS}, default "
                f"{DEFAULT_MAX_WORKERS_CEILING})."
            ),
        ),
        th.Property(
            "max_requests_per_second",
            th.NumberType,
            title="Max Requests per Second",
            description=(
                "Cap on all requests of a run together (list pages, details, retries, tokens), "
                f"e.g. 5 or 0.5, {MIN_REQUESTS_PER_SECOND}-{MAX_REQUESTS_PER_SECOND}. Default: "
                + "; ".join(_default_rate(provider) for provider in providers)
                + "."
            ),
        ),
        th.Property(
            "log_request_metrics",
            th.BooleanType,
            title="Log Request Metrics",
            default=False,
            description=(
                "Log the SDK's METRIC http_request_duration line for every request (default "
                "false: one line per request floods stderr; the record counts are logged anyway)."
            ),
        ),
    ).to_dict()


def _one_of(providers: Sequence[Provider]) -> str:
    *others, last = [provider.name for provider in providers]
    return f"{', '.join(others)} or {last}"


def _page_cap(providers: Sequence[Provider]) -> str:
    """``max_list_pages``' description, naming the providers whose lists it caps."""
    capped = [provider.name for provider in providers if provider.pages_capped]
    if len(capped) > 1:
        names, references = f"{', '.join(capped[:-1])} and {capped[-1]}", "their references show"
    else:
        names, references = "".join(capped) or "no provider", "its reference shows"
    return (
        f"{names}: the highest page number the API serves for one query, as {references}. A "
        "list that needs more pages is read in smaller date windows."
    )


def _environments(provider: Provider) -> str:
    hosts = [
        f"{name} ({'default, ' if name == provider.default_environment else ''}"
        f"{urlsplit(url).hostname})"
        for name, url in provider.environments.items()
    ]
    return f"{provider.name}: {', '.join(hosts)}"


def _default_rate(provider: Provider) -> str:
    rate = provider.default_max_requests_per_second
    if rate is None:
        return f"{provider.name} none (no documented limit)"
    paced = f", paced {provider.pacing_margin:.0%} under it" if provider.pacing_margin else ""
    return f"{provider.name} {rate:g} (its documented limit{paced})"


def is_loopback(host: str) -> bool:
    """True for localhost and the loopback ranges, where plain http cannot leak credentials."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_base_url(value: str) -> list[str]:
    try:
        parts = urlsplit(value)
        hostname, _ = parts.hostname, parts.port
    except ValueError:
        return ["base_url: is not a valid URL (check brackets, port and characters)"]
    if parts.scheme not in {"http", "https"} or not hostname:
        return ["base_url: must be an http(s) URL such as https://api.example.com"]
    if parts.scheme == "http" and not is_loopback(hostname):
        return ["base_url: plain http is only allowed for a loopback host; use https"]
    if parts.query or parts.fragment or parts.username:
        return ["base_url: must not carry credentials, a query or a fragment"]
    return []


def _check_dates(config: Mapping[str, Any]) -> list[str]:
    """Each date readable, and the range not empty."""
    errors = [
        f"{name}: is not an ISO 8601 date or date-time"
        for name in ("start_date", "end_date")
        if config.get(name) is not None and parse_time(config[name]) is None
    ]
    start, end = parse_time(config.get("start_date")), parse_time(config.get("end_date"))
    if start is not None and end is not None and end <= start:
        errors.append("end_date: must be after start_date (it is exclusive)")
    return errors


def _check_workers(config: Mapping[str, Any]) -> list[str]:
    errors = []
    workers = config.get("max_workers")
    if workers is not None and workers != AUTO:
        fixed = fixed_workers(workers)
        if fixed is None or not 1 <= fixed <= MAX_WORKERS:
            errors.append(f"max_workers: must be auto or a whole number from 1 to {MAX_WORKERS}")
    ceiling = config.get("max_workers_ceiling")
    if ceiling is not None and not 1 <= int(ceiling) <= MAX_WORKERS:
        errors.append(f"max_workers_ceiling: must be between 1 and {MAX_WORKERS}")
    return errors


def check_settings(config: Mapping[str, Any], providers: Mapping[str, Provider]) -> list[str]:
    """Cross-field checks, one line per problem, each naming its setting; never echoes secrets."""
    provider_name = config.get("provider")
    if not isinstance(provider_name, str) or provider_name not in providers:
        return [f"provider: must be one of {', '.join(providers)}"]
    provider = providers[provider_name]
    errors: list[str] = []
    environment = config.get("environment", provider.default_environment)
    if environment not in provider.environments:
        errors.append(
            f"environment: {provider_name} supports {', '.join(sorted(provider.environments))}"
        )
    if config.get("base_url"):
        errors += _check_base_url(str(config["base_url"]))
    errors += _check_dates(config)
    page_size = config.get("page_size")
    if page_size is not None and not 1 <= int(page_size) <= provider.max_page_size:
        errors.append(f"page_size: must be between 1 and {provider.max_page_size}")
    pages = config.get("max_list_pages")
    if pages is not None and int(pages) < 1:
        errors.append("max_list_pages: must be at least 1")
    timeout = config.get("request_timeout")
    if timeout is not None and not 1 <= int(timeout) <= MAX_REQUEST_TIMEOUT:
        errors.append(f"request_timeout: must be between 1 and {MAX_REQUEST_TIMEOUT} seconds")
    errors += _check_workers(config)
    rate = config.get("max_requests_per_second")
    if rate is not None and not MIN_REQUESTS_PER_SECOND <= float(rate) <= MAX_REQUESTS_PER_SECOND:
        errors.append(
            f"max_requests_per_second: must be between {MIN_REQUESTS_PER_SECOND} and "
            f"{MAX_REQUESTS_PER_SECOND}"
        )
    missing = [name for name in provider.credential_settings if not config.get(name)]
    errors += [f"{name}: is required for provider {provider_name}" for name in missing]
    if not missing:
        errors += provider.check_settings(config)
    return errors


def schema_errors(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Where the settings depart from their JSON schema: one line each, naming the setting and
    what it must be, never its value (a wrongly typed credential is still a credential)."""
    validator = validator_for(schema)(schema)
    return sorted(_describe(error) for error in validator.iter_errors(config))


def _describe(error: object) -> str:
    path = ".".join(str(part) for part in getattr(error, "absolute_path", ())) or "settings"
    kind, expected = getattr(error, "validator", ""), getattr(error, "validator_value", None)
    if kind == "required":
        return str(getattr(error, "message", "a required setting is missing"))
    if kind == "type":
        types = expected if isinstance(expected, list) else [expected]
        return f"{path}: must be of type {' or '.join(map(str, types))}"
    if kind == "enum":
        return f"{path}: must be one of {', '.join(map(str, expected or []))}"
    if kind == "format":
        return f"{path}: must be a {expected} value"
    return f"{path}: is not valid ({kind} {expected})"


def unknown_settings(config: Mapping[str, Any], schema: Mapping[str, Any]) -> Iterator[str]:
    """A warning for each setting the tap does not know (a typo is otherwise silently ignored),
    naming the closest known one."""
    known = list(schema.get("properties", {}))
    for name in sorted(set(config) - set(known)):
        closest = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{closest[0]}'?" if closest else ""
        yield f"Unknown setting '{name}' ignored{hint}"


def environment_errors(
    schema: Mapping[str, Any], environ: Mapping[str, str], prefix: str
) -> list[str]:
    """Environment settings (``--config ENV``) that cannot be read as their type; the SDK would
    answer them with a traceback."""
    errors = []
    for name, definition in schema.get("properties", {}).items():
        variable = prefix + name.upper().replace("-", "_")
        value = environ.get(variable)
        types = definition.get("type", [])
        if value is None or "string" in types:
            continue
        try:
            if "integer" in types:
                int(value)
            elif "number" in types:
                float(value)
        except ValueError:
            kind = "an integer" if "integer" in types else "a number"
            errors.append(f"{variable}: must be {kind} (the {name} setting)")
    return errors
