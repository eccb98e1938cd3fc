"""Refunds: the sandbox's refund events and the client's parsing of them, over real HTTP.

Every body the sandbox serves here is also validated against ``financesV0.json`` by the
session's contract check (conftest.py)."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sandbox_helpers import authorized_http, sandbox_config

from amazon_sp import SpApiClient, refunds
from sp_sandbox import SandboxServer, Scenario, data

MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "sp-api" / "models"

THREE = "403-0000001-0000001"
JP = "503-0000002-0000002"
US = "113-0000003-0000003"
ITEMS = ["21111111111111", "21111111111112", "21111111111113"]


def _order(order_id, marketplace, items):
    return {
        "orderId": order_id,
        "marketplaceId": marketplace,
        "fulfilledBy": "AMAZON",
        "createdTime": "2026-11-20T10:00:00Z",
        "events": [{"time": "2026-11-20T10:00:00Z", "status": "SHIPPED"}],
        "items": items,
    }


@pytest.fixture
def srv():
    scenario = Scenario.from_dict(
        {
            "marketplaces": ["ES", "JP", "US"],
            "start": "2026-11-20T12:00:00Z",
            "orders": [
                _order(
                    THREE,
                    "ES",
                    [
                        {
                            "orderItemId": ITEMS[0],
                            "sku": "MUG",
                            "quantity": 2,
                            "unitPrice": "12.10",
                            "shipping": "3.99",
                            "promotionDiscount": "1.00",
                            "promotionIds": ["PROMO-1"],
                            "giftWrap": "2.50",
                        },
                        {"orderItemId": ITEMS[1], "sku": "BOOK", "quantity": 1, "unitPrice": "20"},
                        {"orderItemId": ITEMS[2], "sku": "PEN", "quantity": 3, "unitPrice": "1.05"},
                    ],
                ),
                _order(
                    JP,
                    "JP",
                    [
                        {
                            "orderItemId": "31111111111111",
                            "sku": "JP",
                            "quantity": 3,
                            "unitPrice": "1000",
                        }
                    ],
                ),
                _order(
                    US,
                    "US",
                    [
                        {
                            "orderItemId": "41111111111111",
                            "sku": "US",
                            "quantity": 1,
                            "unitPrice": "10",
                        }
                    ],
                ),
            ],
        }
    )
    with SandboxServer(scenario, port=0, speed=1000.0) as server:
        yield server


def client_of(server):
    config = sandbox_config(
        server, "cid", "secret-refunds-42", "Atzr|refunds-0123456789", timeout=5.0
    )
    return SpApiClient(config, rng=lambda: 0.05)


def test_full_partial_shipping_and_several_refunds_of_one_order(srv):
    state = srv.state
    state.refund(THREE, [ITEMS[1]])  # one item of three
    state.advance(60)
    state.refund(THREE, [ITEMS[0]], only="shipping")  # shipping only
    state.advance(60)
    state.refund(THREE, [ITEMS[0]], quantities={ITEMS[0]: 1})  # one unit of two
    state.advance(600)
    with client_of(srv) as client:
        found = client.finances.list_order_refunds(THREE, page_size=1)
        assert client.stats.by_operation["listFinancialEventsByOrderId"] >= 3  # paged
    assert len(found) == 3
    assert len({r.adjustment_id for r in found}) == 3
    partial, shipping, unit = found
    assert all(r.order_id == THREE and r.currency == "EUR" for r in found)
    assert all(r.marketplace_name == "Amazon.es" and r.posted_date for r in found)
    [book] = partial.items
    assert (book.sku, book.order_item_id, book.quantity) == ("BOOK", ITEMS[1], 1)
    assert book.charge(refunds.PRINCIPAL) == Decimal("-20.00")
    assert book.adjustment_item_id and book.adjustment_item_id in partial.adjustment_id
    assert partial.refunded_total(tax_included=True) == Decimal("20.00")
    # Shipping only: no unit returned, no principal; the shipping promotion is absent.
    [mug] = shipping.items
    assert mug.quantity is None
    assert mug.charge(refunds.PRINCIPAL) == 0
    assert mug.charge(refunds.SHIPPING) == Decimal("-3.99")
    assert [c.kind for c in shipping.buyer_charges()] == ["shipping"]
    assert shipping.refunded_total(tax_included=True) == Decimal("3.99")
    # One unit of two: half of each part, promotions taken back.
    [mug] = unit.items
    assert mug.quantity == 1
    assert mug.charge(refunds.PRINCIPAL) == Decimal("-12.10")
    assert mug.charge(refunds.GIFT_WRAP) == Decimal("-1.25")
    assert mug.promotion_total == Decimal("0.50")
    assert mug.promotions[0].promotion_id == "PROMO-1"
    assert unit.refunded_total(tax_included=True) == Decimal("12.10") + Decimal("2.00") + Decimal(
        "1.25"
    ) - Decimal("0.50")
    assert mug.fees["Commission"] > 0 > mug.fees["RefundCommission"]


def test_full_refund_in_yen_and_in_the_account_wide_list(srv):
    state = srv.state
    state.refund(JP)
    state.refund(US)
    start = state.now().replace(tzinfo=None)
    state.advance(600)
    with client_of(srv) as client:
        everything = client.finances.list_refunds(start, page_size=1)
        jp_only = client.finances.list_order_refunds(JP)
        assert client.finances.list_order_refunds("999-9999999-9999999") == []
    assert {r.order_id for r in everything} == {JP, US}
    [jp] = jp_only
    assert jp.currency == "JPY"
    assert jp.items[0].quantity == 3
    assert jp.refunded_total(tax_included=True) == Decimal(3000)
    assert [r.adjustment_id for r in everything if r.order_id == JP] == [jp.adjustment_id]
    # US prices exclude tax: the tax comes on top, refunded with the principal.
    [us] = [r for r in everything if r.order_id == US]
    tax = -us.items[0].charge(refunds.TAX)
    assert tax > 0
    assert us.refunded_total(tax_included=False) == Decimal("10.00") + tax
    assert us.refunded_total(tax_included=False, has_taxes=False) == Decimal("10.00")


def test_refunds_of_the_settlement_groups_are_read_in_full(srv):
    srv.state.refund(THREE, [ITEMS[2]])
    srv.state.advance(600)
    with client_of(srv) as client:
        [group] = [g for g in client.finances.list_financial_event_groups() if g.currency == "EUR"]
        events = client.finances.list_financial_events_by_group_id(group.group_id)
    [refund] = events.refund_events
    assert refund.order_id == THREE
    assert refund.items[0].quantity == 3
    assert refund.refunded_total(tax_included=True) == Decimal("3.15")
    assert events.refunds[0].charges == Decimal("-3.15")


@pytest.mark.forbidden_requests
def test_sandbox_refuses_wrong_refunds_and_window(srv):
    with authorized_http(srv) as http:
        bad = http.post(f"/_sandbox/orders/{THREE}/refund", json={"quantities": {ITEMS[0]: 5}})
        assert bad.status_code == 400 and "cannot refund" in bad.json()["error"]
        bad = http.post(f"/_sandbox/orders/{THREE}/refund", json={"only": "tip"})
        assert bad.status_code == 400
        ok = http.post(
            f"/_sandbox/orders/{THREE}/refund",
            json={"itemIds": [ITEMS[2]], "quantities": {ITEMS[2]: 2}},
        )
        assert ok.status_code == 200 and ok.json()["items"] == {ITEMS[2]: 2}
        late = http.get(
            "/finances/v0/financialEvents", params={"PostedAfter": "2030-01-01T00:00:00Z"}
        )
        assert late.status_code == 400
        far = http.get(
            "/finances/v0/financialEvents",
            params={"PostedAfter": "2026-01-01T00:00:00Z", "PostedBefore": "2026-11-20T11:00:00Z"},
        )
        assert far.status_code == 200
        assert not any(far.json()["payload"]["FinancialEvents"].values())  # over 180 days


def test_parsing_survives_absent_fields_and_names_bad_ones():
    event = refunds.parse_refund_event(
        {
            "AmazonOrderId": "1",
            "ShipmentItemAdjustmentList": [
                {
                    "ItemChargeAdjustmentList": [
                        {"ChargeType": "Principal", "ChargeAmount": {"CurrencyAmount": -5}},
                        {"ChargeType": "Goodwill"},
                        {"ChargeAmount": {"CurrencyCode": "EUR", "CurrencyAmount": -1.5}},
                    ]
                },
                {},
            ],
        }
    )
    assert event.posted_date is None and event.marketplace_name is None
    assert event.currency == "EUR"
    assert event.adjustment_id == "1@?"
    kinds = [(c.kind, c.item_id, c.amount) for c in event.buyer_charges()]
    assert kinds == [("item", None, Decimal(5)), ("other", "other", Decimal("1.5"))]
    assert refunds.parse_refund_events({}) == []
    with pytest.raises(refunds.FinanceParseError, match=r"\[0\].QuantityShipped"):
        refunds.parse_refund_event({"ShipmentItemAdjustmentList": [{"QuantityShipped": "2"}]})
    with pytest.raises(refunds.FinanceParseError, match="currency USD in a refund in EUR"):
        refunds.parse_refund_event(
            {
                "ShipmentItemAdjustmentList": [
                    {
                        "ItemChargeAdjustmentList": [
                            {"ChargeAmount": {"CurrencyCode": "EUR", "CurrencyAmount": 1}},
                            {"ChargeAmount": {"CurrencyCode": "USD", "CurrencyAmount": 1}},
                        ]
                    }
                ]
            }
        )


@pytest.mark.skipif(not (MODELS / "financesV0.json").is_file(), reason="Amazon's models are absent")
def test_sandbox_paces_the_finances_operations_as_the_model_documents():
    model = json.loads((MODELS / "financesV0.json").read_text())
    for path in model["paths"].values():
        for operation in path.values():
            plan = re.search(r"\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|", operation["description"])
            name = operation["operationId"]
            if name == "listTransactions":
                continue  # not served
            assert data.USAGE_PLANS[name] == (float(plan[1]), int(plan[2])), name
