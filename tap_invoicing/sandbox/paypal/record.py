"""One stored PayPal invoice, the wire formats of its money and times, and the summary a list
serves of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from tap_invoicing.sandbox.fakedata import quantize

CURRENCY_EXPONENTS = {"USD": 2, "EUR": 2, "JPY": 0}
"""Minor-unit digits of the currencies the sandbox bills in (ISO 4217)."""
LINK_HOST = "https://api.sandbox.paypal.com"
"""Invoices' own HATEOAS links name the older sandbox host, as real responses do (api-notes:
base URLs); the sandbox never serves nor follows them."""
SUMMARY_DETAIL_FIELDS = (
    "reference",
    "currency_code",
    "note",
    "memo",
    "invoice_number",
    "invoice_date",
    "payment_term",
    "viewed_by_recipient",
    "group_draft",
)
"""The ``detail`` fields of PayPal's sample list and search items ([S6]), in that order."""
COLLECTIONS = ("items", "payments", "refunds", "additional_recipients_info", "attachments")
"""What search's ``fields`` can ask for in full."""
COLLECTION_KEYS = {
    "items": "items",
    "payments": "payments",
    "refunds": "refunds",
    "additional_recipients": "additional_recipients_info",
}
"""The invoice's top-level collections, by the ``fields`` value that asks for each (the fifth,
``attachments``, is in ``detail``)."""
TRANSACTION_IDS = {"payments": "payment_id", "refunds": "refund_id"}
"""The id field of each collection's transactions."""
_LINKS_BY_STATUS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "DRAFT": (("/send", "send", "POST"), ("/update", "replace", "PUT"), ("", "delete", "DELETE")),
    "SCHEDULED": (
        ("/update", "replace", "PUT"),
        ("/cancel", "invoices.cancel", "POST"),
        ("", "delete", "DELETE"),
    ),
    "SENT": (
        ("/update", "replace", "PUT"),
        ("/cancel", "invoices.cancel", "POST"),
        ("/remind", "remind", "POST"),
        ("/record-payment", "record-payment", "POST"),
        ("/generate-qr-code", "qr-code", "POST"),
    ),
    "PARTIALLY_PAID": (
        ("/remind", "remind", "POST"),
        ("/record-payment", "record-payment", "POST"),
        ("/record-refund", "record-refund", "POST"),
    ),
    "PAID": (("/record-refund", "record-refund", "POST"),),
    "PARTIALLY_REFUNDED": (("/record-refund", "record-refund", "POST"),),
}
"""The actions each status offers, as the seed's links spell them; UNPAID and PAYMENT_PENDING
offer what SENT does, MARKED_AS_PAID what PAID does, the rest only ``self``."""
_LINKS_BY_STATUS |= {
    "UNPAID": _LINKS_BY_STATUS["SENT"],
    "PAYMENT_PENDING": _LINKS_BY_STATUS["SENT"],
    "MARKED_AS_PAID": _LINKS_BY_STATUS["PAID"],
}


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.01 USD, 1 JPY."""
    return Decimal(1).scaleb(-CURRENCY_EXPONENTS[currency])


def money(currency: str, amount: Decimal) -> dict[str, str]:
    """PayPal's Money: the value a decimal string with exactly the currency's digits (never
    ``-0.00``)."""
    value = quantize(amount, minor_unit(currency)) + 0
    return {"currency_code": currency, "value": format(value, "f")}


def amount_of(money_value: dict[str, str]) -> Decimal:
    """The Decimal a Money object holds."""
    return Decimal(money_value["value"])


def date_time(at: datetime) -> str:
    """A ``date_time`` as PayPal serves them: UTC, whole seconds, ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def invoice_links(invoice_id: str, status: str) -> list[dict[str, str]]:
    """``self`` plus the actions the status allows."""
    base = f"{LINK_HOST}/v2/invoicing/invoices/{invoice_id}"
    actions = _LINKS_BY_STATUS.get(status, ())
    return [
        {"href": base, "rel": "self", "method": "GET"},
        *({"href": base + suffix, "rel": rel, "method": method} for suffix, rel, method in actions),
    ]


@dataclass
class StoredInvoice:
    """``detail`` is the body exactly as the detail endpoint serves it; ``created`` is its
    ``create_time`` as an instant, which the list orders by and search filters on;
    ``unpaid_status`` is what it was while nothing was paid on it (SENT or UNPAID), which it goes
    back to when its payments are deleted."""

    detail: dict[str, Any]
    created: datetime
    unpaid_status: str = "SENT"

    @property
    def id(self) -> str:
        """The ``INV2-...`` id."""
        return cast("str", self.detail["id"])

    @property
    def status(self) -> str:
        """The current status."""
        return cast("str", self.detail["status"])

    @property
    def currency(self) -> str:
        """The invoice's currency, which all its amounts are in."""
        return cast("str", self.detail["detail"]["currency_code"])

    @property
    def metadata(self) -> dict[str, Any]:
        """``detail.metadata``."""
        return cast("dict[str, Any]", self.detail["detail"]["metadata"])

    @property
    def total(self) -> Decimal:
        """What the invoice asks for."""
        return amount_of(self.detail["amount"])

    def external_ids(self, collection: str) -> list[str]:
        """The ids of the recorded (EXTERNAL) ``payments`` or ``refunds``, oldest first."""
        key = TRANSACTION_IDS[collection]
        return [t[key] for t in self.transactions(collection) if t["type"] == "EXTERNAL"]

    def transactions(self, collection: str) -> list[dict[str, Any]]:
        """The ``payments`` or ``refunds`` transactions, oldest first (none: empty)."""
        return cast("list[dict[str, Any]]", self.detail.get(collection, {}).get("transactions", []))

    def sum_of(self, collection: str, kind: str | None = None) -> Decimal:
        """What the ``payments`` or ``refunds`` transactions add up to (of one ``kind`` only:
        PAYPAL or EXTERNAL)."""
        return sum(
            (
                amount_of(transaction["amount"])
                for transaction in self.transactions(collection)
                if kind is None or transaction["type"] == kind
            ),
            Decimal(0),
        )

    def set_status(self, status: str) -> None:
        """Change the status and the actions its links offer."""
        self.detail["status"] = status
        self.detail["links"] = invoice_links(self.id, status)

    def add_transaction(self, collection: str, transaction: dict[str, Any]) -> None:
        """Append a payment or refund and bring the totals in line: ``paid_amount`` is the sum
        of the payments, ``refund_amount`` of the refunds, ``due_amount`` the total less what
        was paid. ``payments`` and ``refunds`` are there only once they hold a transaction, as
        in the seed's SENT invoice."""
        total_key = "paid_amount" if collection == "payments" else "refund_amount"
        entry = self.detail.setdefault(collection, {total_key: None, "transactions": []})
        entry["transactions"].append(transaction)
        self.recount()

    def remove_transaction(self, collection: str, position: int) -> dict[str, Any]:
        """Take out the ``payments`` or ``refunds`` transaction at ``position`` and bring the
        totals in line; the collection goes with its last transaction. Returns it."""
        entry = self.detail[collection]
        transaction: dict[str, Any] = entry["transactions"].pop(position)
        if not entry["transactions"]:
            del self.detail[collection]
        self.recount()
        return transaction

    def recount(self) -> None:
        """``paid_amount``, ``refund_amount`` and ``due_amount`` from the transactions and the
        total (after a change to either)."""
        for collection, total_key in (("payments", "paid_amount"), ("refunds", "refund_amount")):
            if collection in self.detail:
                self.detail[collection][total_key] = money(self.currency, self.sum_of(collection))
        self.detail["due_amount"] = money(self.currency, self.total - self.sum_of("payments"))

    def touch(self, now: datetime) -> None:
        """Record an update at ``now``, by the invoicer."""
        self.metadata["last_update_time"] = date_time(now)
        self.metadata["last_updated_by"] = self.detail["invoicer"]["email_address"]

    def summary(
        self, *, last_update: bool, collections: frozenset[str], leave_out: bool = False
    ) -> dict[str, Any]:
        """The list item of PayPal's samples ([S6]): no invoicer, items, transactions or
        breakdown, and of the metadata only ``create_time`` (plus ``last_update_time`` if
        ``last_update``). ``payments.paid_amount`` and ``refunds.refund_amount`` appear when the
        invoice has payments or refunds at all, as those objects do in the full invoice, unless
        ``leave_out`` (a filtered search) leaves out what ``collections`` does not name.
        ``collections`` (search's ``fields``) come in full. A view over the stored values: it
        must be encoded before the store changes."""
        source = self.detail
        inner = source["detail"]
        detail = {name: inner[name] for name in SUMMARY_DETAIL_FIELDS if name in inner}
        metadata = {"create_time": inner["metadata"]["create_time"]}
        if last_update:
            metadata["last_update_time"] = inner["metadata"]["last_update_time"]
        detail["metadata"] = metadata
        if "attachments" in collections and "attachments" in inner:
            detail["attachments"] = inner["attachments"]
        body: dict[str, Any] = {"id": source["id"], "status": source["status"], "detail": detail}
        if "primary_recipients" in source:  # a full update can leave them out
            body["primary_recipients"] = source["primary_recipients"]
        if "additional_recipients_info" in collections and "additional_recipients" in source:
            body["additional_recipients"] = source["additional_recipients"]
        if "items" in collections and "items" in source:
            body["items"] = source["items"]
        body["amount"] = {
            "currency_code": source["amount"]["currency_code"],
            "value": source["amount"]["value"],
        }
        body["due_amount"] = source["due_amount"]
        for collection, total_key in (("payments", "paid_amount"), ("refunds", "refund_amount")):
            if collection in source and (collection in collections or not leave_out):
                full = collection in collections
                body[collection] = (
                    source[collection] if full else {total_key: source[collection][total_key]}
                )
        body["links"] = source["links"]
        return body


def without_external_ids(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` (a detail or a list item) with its EXTERNAL transactions' ids left out, as a
    sandbox built with ``external_ids=False`` serves them (the spec requires an id for PAYPAL
    ones only). Only what changes is copied; the rest stays a view of the stored values."""
    served = body
    for collection, key in TRANSACTION_IDS.items():
        entry = body.get(collection)
        if not isinstance(entry, dict) or not any(
            t["type"] == "EXTERNAL" and key in t for t in entry.get("transactions", [])
        ):
            continue
        if served is body:
            served = dict(body)
        served[collection] = {
            **entry,
            "transactions": [
                {k: v for k, v in t.items() if k != key} if t["type"] == "EXTERNAL" else t
                for t in entry["transactions"]
            ],
        }
    return served


def trimmed(body: dict[str, Any], collections: frozenset[str]) -> dict[str, Any]:
    """A full invoice as a filtered search serves it: the collections ``collections`` (search's
    ``fields``) does not name are left out. A view over ``body``, copied only where it differs."""
    served = {
        key: value
        for key, value in body.items()
        if key not in COLLECTION_KEYS or COLLECTION_KEYS[key] in collections
    }
    if "attachments" not in collections and "attachments" in body["detail"]:
        served["detail"] = {k: v for k, v in body["detail"].items() if k != "attachments"}
    return served
