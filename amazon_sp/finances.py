"""Finances API v0 JSON -> typed, Odoo-free settlement data (no Odoo import).

Two operations feed the Odoo settlements:

* ``listFinancialEventGroups`` -> :class:`FinancialEventGroup` (one settlement period of
  one marketplace currency: its status, period, original total and payout);
* ``listFinancialEventsByGroupId`` -> :class:`GroupEvents` (every page of the group's
  events folded into totals per fee type and charge type, plus the orders the shipments
  and the refunds belong to).

Sign convention is Amazon's: from the seller's balance point of view. Charges the buyer
paid are positive, fees Amazon keeps are negative, a refund's charge adjustments are
negative and its fee reversals (the commission Amazon gives back) positive. Advertising
(``ProductAdsPaymentEventList``) counts as the fee type ``"Advertising"`` with its
``transactionValue`` (base + tax); a charge is negative.

Money is :class:`~decimal.Decimal`; dates are naive UTC.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from .parsing import parse_datetime

ZERO = Decimal(0)
STATUS_CLOSED = "Closed"
STATUS_OPEN = "Open"
FEE_ADVERTISING = "Advertising"

# Event lists made of ShipmentEvent objects (refund-like lists carry adjustments).
SHIPMENT_LISTS = ("ShipmentEventList",)
REFUND_LISTS = ("RefundEventList", "GuaranteeClaimEventList", "ChargebackEventList")


class FinanceParseError(ValueError):
    """Finances data that cannot be read (names the field path)."""

    def __init__(self, path, problem):
        self.path = path
        self.problem = problem
        super().__init__(f"Finances data: field '{path}': {problem}")


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str | None


@dataclass(frozen=True)
class FinancialEventGroup:
    group_id: str
    processing_status: str | None  # "Open" / "Closed"
    fund_transfer_status: str | None
    original_total: Money | None
    converted_total: Money | None
    beginning_balance: Money | None
    fund_transfer_date: datetime | None
    start: datetime | None
    end: datetime | None
    trace_id: str | None = None
    account_tail: str | None = None

    @property
    def is_closed(self):
        return (self.processing_status or "").lower() == STATUS_CLOSED.lower()

    @property
    def currency(self):
        return self.original_total.currency if self.original_total else None


@dataclass(frozen=True)
class Refund:
    order_id: str | None
    posted_date: datetime | None
    charges: Decimal  # sum of the charge/promotion adjustments (negative for a refund)
    fees: Decimal  # sum of the fee adjustments (commission given back minus refund fees)


@dataclass
class GroupEvents:
    """Every event of one financial event group, folded into totals."""

    currencies: set = field(default_factory=set)
    fees: dict = field(default_factory=lambda: defaultdict(Decimal))  # fee type -> amount
    charges: dict = field(default_factory=lambda: defaultdict(Decimal))  # charge type -> amount
    promotions: Decimal = ZERO
    taxes_withheld: Decimal = ZERO
    other: Decimal = ZERO  # amounts of event lists this reader does not detail
    shipment_order_ids: list = field(default_factory=list)  # in Amazon's order, unique
    refunds: list = field(default_factory=list)  # Refund
    refund_events: list = field(default_factory=list)  # refunds.RefundEvent (RefundEventList)
    unhandled: dict = field(default_factory=lambda: defaultdict(int))  # list name -> count
    event_count: int = 0

    @property
    def fee_total(self):
        return sum(self.fees.values(), ZERO)

    @property
    def charge_total(self):
        return sum(self.charges.values(), ZERO)

    @property
    def total(self):
        """Net effect on the seller's balance of the events read."""
        return (
            self.fee_total + self.charge_total + self.promotions + self.taxes_withheld + self.other
        )

    @property
    def refund_order_ids(self):
        seen = []
        for refund in self.refunds:
            if refund.order_id and refund.order_id not in seen:
                seen.append(refund.order_id)
        return seen


# --- helpers ------------------------------------------------------------------------------


def _amount(node, path):
    """A ``Currency`` object -> Money (None when absent)."""
    if node is None:
        return None
    if not isinstance(node, dict):
        raise FinanceParseError(path, "expected a Currency object")
    value = node.get("CurrencyAmount")
    if value is None:
        return Money(ZERO, node.get("CurrencyCode"))
    if isinstance(value, bool):
        raise FinanceParseError(path + ".CurrencyAmount", f"not a number: {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise FinanceParseError(path + ".CurrencyAmount", f"not a number: {value!r}") from None
    if not amount.is_finite():
        raise FinanceParseError(path + ".CurrencyAmount", f"not a finite number: {value!r}")
    return Money(amount, node.get("CurrencyCode"))


def _date(value, path):
    if value in (None, ""):
        return None
    try:
        return parse_datetime(value)
    except (TypeError, ValueError):
        raise FinanceParseError(path, f"not an ISO 8601 date-time: {value!r}") from None


def _list(node, key, path):
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FinanceParseError(f"{path}.{key}", "expected a list")
    return value


def _objects(items, path, expected):
    """Yield ``(where, item)`` for each item of a list that must hold JSON objects."""
    for index, item in enumerate(items):
        where = f"{path}[{index}]"
        if not isinstance(item, dict):
            raise FinanceParseError(where, f"expected a {expected}")
        yield where, item


# --- groups -------------------------------------------------------------------------------


def parse_financial_event_group(raw, path="FinancialEventGroup"):
    if not isinstance(raw, dict):
        raise FinanceParseError(path, "expected an object")
    group_id = raw.get("FinancialEventGroupId")
    if not group_id or not isinstance(group_id, str):
        raise FinanceParseError(path + ".FinancialEventGroupId", "missing")
    return FinancialEventGroup(
        group_id=group_id,
        processing_status=raw.get("ProcessingStatus"),
        fund_transfer_status=raw.get("FundTransferStatus"),
        original_total=_amount(raw.get("OriginalTotal"), path + ".OriginalTotal"),
        converted_total=_amount(raw.get("ConvertedTotal"), path + ".ConvertedTotal"),
        beginning_balance=_amount(raw.get("BeginningBalance"), path + ".BeginningBalance"),
        fund_transfer_date=_date(raw.get("FundTransferDate"), path + ".FundTransferDate"),
        start=_date(raw.get("FinancialEventGroupStart"), path + ".FinancialEventGroupStart"),
        end=_date(raw.get("FinancialEventGroupEnd"), path + ".FinancialEventGroupEnd"),
        trace_id=raw.get("TraceId"),
        account_tail=raw.get("AccountTail"),
    )


def parse_financial_event_groups(payload):
    """The ``payload`` of one listFinancialEventGroups page -> list of groups."""
    if not isinstance(payload, dict):
        raise FinanceParseError("payload", "expected an object")
    groups = _list(payload, "FinancialEventGroupList", "payload")
    return [
        parse_financial_event_group(raw, f"payload.FinancialEventGroupList[{index}]")
        for index, raw in enumerate(groups)
    ]


# --- events -------------------------------------------------------------------------------


class _Folder:
    def __init__(self, result):
        self.result = result

    def money(self, node, path):
        money = _amount(node, path)
        if money is None:
            return ZERO
        if money.currency:
            self.result.currencies.add(money.currency)
        return money.amount

    def components(self, items, path, kind, totals):
        """Sum a list of ``{kind}Component`` (Charge or Fee) into ``totals`` by type."""
        total = ZERO
        for where, component in _objects(items, path, f"{kind}Component"):
            amount = self.money(component.get(f"{kind}Amount"), f"{where}.{kind}Amount")
            totals[component.get(f"{kind}Type") or "Other"] += amount
            total += amount
        return total

    def charges(self, items, path):
        return self.components(items, path, "Charge", self.result.charges)

    def fees(self, items, path):
        return self.components(items, path, "Fee", self.result.fees)

    def promotions(self, items, path):
        total = ZERO
        for where, promotion in _objects(items, path, "Promotion"):
            total += self.money(promotion.get("PromotionAmount"), where + ".PromotionAmount")
        self.result.promotions += total
        return total

    def withheld(self, items, path):
        total = ZERO
        for where, row in _objects(items, path, "TaxWithheldComponent"):
            for sub, charge in enumerate(_list(row, "TaxesWithheld", where)):
                amount = self.money(
                    (charge or {}).get("ChargeAmount"), f"{where}.TaxesWithheld[{sub}]"
                )
                total += amount
        self.result.taxes_withheld += total
        return total

    def shipment_event(self, event, path, refund):
        """One ShipmentEvent; returns (charges incl. promotions and withheld tax, fees)."""
        if not isinstance(event, dict):
            raise FinanceParseError(path, "expected a ShipmentEvent")
        charges = fees = ZERO
        for key in ("OrderChargeList", "OrderChargeAdjustmentList"):
            charges += self.charges(_list(event, key, path), f"{path}.{key}")
        for key in (
            "ShipmentFeeList",
            "ShipmentFeeAdjustmentList",
            "OrderFeeList",
            "OrderFeeAdjustmentList",
        ):
            fees += self.fees(_list(event, key, path), f"{path}.{key}")
        for key in ("ShipmentItemList", "ShipmentItemAdjustmentList"):
            for index, item in enumerate(_list(event, key, path)):
                where = f"{path}.{key}[{index}]"
                if not isinstance(item, dict):
                    raise FinanceParseError(where, "expected a ShipmentItem")
                for sub in ("ItemChargeList", "ItemChargeAdjustmentList"):
                    charges += self.charges(_list(item, sub, where), f"{where}.{sub}")
                for sub in ("ItemFeeList", "ItemFeeAdjustmentList"):
                    fees += self.fees(_list(item, sub, where), f"{where}.{sub}")
                for sub in ("PromotionList", "PromotionAdjustmentList"):
                    charges += self.promotions(_list(item, sub, where), f"{where}.{sub}")
                charges += self.withheld(
                    _list(item, "ItemTaxWithheldList", where), f"{where}.ItemTaxWithheldList"
                )
        order_id = event.get("AmazonOrderId")
        posted = _date(event.get("PostedDate"), path + ".PostedDate")
        if refund:
            self.result.refunds.append(Refund(order_id, posted, charges, fees))
        elif order_id and order_id not in self.result.shipment_order_ids:
            self.result.shipment_order_ids.append(order_id)
        return charges, fees

    def ads_event(self, event, path):
        if not isinstance(event, dict):
            raise FinanceParseError(path, "expected a ProductAdsPaymentEvent")
        value = event.get("transactionValue")
        if value is None:  # fall back on base + tax
            amount = self.money(event.get("baseValue"), path + ".baseValue") + self.money(
                event.get("taxValue"), path + ".taxValue"
            )
        else:
            amount = self.money(value, path + ".transactionValue")
        self.result.fees[FEE_ADVERTISING] += amount

    def service_fee_event(self, event, path):
        if not isinstance(event, dict):
            raise FinanceParseError(path, "expected a ServiceFeeEvent")
        self.fees(_list(event, "FeeList", path), path + ".FeeList")


def parse_financial_events(payloads, result=None):
    """``payload`` objects of listFinancialEventsByGroupId pages -> :class:`GroupEvents`.

    Pass ``result`` to keep folding pages into the same totals. Refunds are also read in
    full (``result.refund_events``, see :mod:`.refunds`)."""
    from . import refunds  # refunds reads money with this module's helpers

    result = result if result is not None else GroupEvents()
    folder = _Folder(result)
    for page, payload in enumerate(payloads):
        if not isinstance(payload, dict):
            raise FinanceParseError(f"payload[{page}]", "expected an object")
        events = payload.get("FinancialEvents") or {}
        if not isinstance(events, dict):
            raise FinanceParseError(f"payload[{page}].FinancialEvents", "expected an object")
        for name, items in events.items():
            path = f"FinancialEvents.{name}"
            if items is None:
                continue
            if not isinstance(items, list):
                raise FinanceParseError(path, "expected a list")
            for index, event in enumerate(items):
                where = f"{path}[{index}]"
                result.event_count += 1
                if name in SHIPMENT_LISTS:
                    folder.shipment_event(event, where, refund=False)
                elif name in REFUND_LISTS:
                    folder.shipment_event(event, where, refund=True)
                    if name == "RefundEventList":
                        result.refund_events.append(refunds.parse_refund_event(event, where))
                elif name == "ProductAdsPaymentEventList":
                    folder.ads_event(event, where)
                elif name == "ServiceFeeEventList":
                    folder.service_fee_event(event, where)
                else:
                    result.unhandled[name] += 1
                    result.event_count -= 1
    return result
