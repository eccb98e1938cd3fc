"""Finances v0: the client and its pure parsing against the sandbox over real HTTP.

Every body the sandbox serves here is also validated against ``financesV0.json`` by the
session's contract check (conftest.py)."""

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sandbox_helpers import sandbox_config

from amazon_sp import SpApiClient, errors, finances
from sp_sandbox import SandboxServer, Scenario

GROUPS = "/finances/v0/financialEventGroups"


@pytest.fixture
def closed_sandbox(sandbox_scenario):
    """300 generated orders, the clock 20 days on: every group of the orders is closed."""
    with SandboxServer(sandbox_scenario, port=0, speed=1000.0) as server:
        server.state.advance(20 * 86400)
        yield server


def make_client(srv):
    config = sandbox_config(
        srv,
        "cid",
        "secret-finances-42",
        "Atzr|finances-refresh-0123456789",
        timeout=5.0,
        max_retry_seconds=20.0,
    )
    return SpApiClient(config, rng=lambda: 0.05)


def test_groups_are_paged_and_match_the_sandbox(closed_sandbox):
    expected = closed_sandbox.state.finance_groups()
    with make_client(closed_sandbox) as client:
        groups = client.finances.list_financial_event_groups(page_size=2)
        assert client.stats.by_operation["listFinancialEventGroups"] == -(-len(expected) // 2)
    assert [g.group_id for g in groups] == list(expected)
    # At least one settlement group per marketplace (how many 14-day periods the week of
    # orders spans depends on today's date), so several pages of 2 were read.
    assert len(groups) >= len(closed_sandbox.state.marketplaces) >= 8
    by_id = {g.group_id: g for g in groups}
    for gid, group in expected.items():
        parsed = by_id[gid]
        assert parsed.is_closed == group["closed"]
        assert parsed.original_total.amount == group["total"]
        assert parsed.currency == group["currency"]
        assert isinstance(parsed.original_total.amount, Decimal)
        if parsed.is_closed:
            assert parsed.end == group["end"].replace(tzinfo=None)
            assert parsed.fund_transfer_date is not None
    # filtering by start: only the groups opened at or after a date
    later = max(g.start for g in groups)
    with make_client(closed_sandbox) as client:
        recent = client.finances.list_financial_event_groups(started_after=later)
    assert recent and all(g.start >= later for g in recent)


def test_events_fold_into_amazon_totals_across_pages(closed_sandbox):
    expected = closed_sandbox.state.finance_groups()
    refunds_seen = ads_seen = fba_seen = 0
    with make_client(closed_sandbox) as client:
        for gid, group in expected.items():
            events = client.finances.list_financial_events_by_group_id(gid, page_size=3)
            assert events.total == group["total"], gid
            assert events.fee_total == group["fees"], gid
            assert events.event_count == len(group["events"])
            assert events.currencies <= {group["currency"]}
            refunds_seen += len(events.refunds)
            ads_seen += finances.FEE_ADVERTISING in events.fees
            fba_seen += "FBAPerUnitFulfillmentFee" in events.fees
            if events.refunds:
                assert events.fees["RefundCommission"] < 0
                assert events.refund_order_ids
                assert all(r.charges < 0 for r in events.refunds)
        pages = client.stats.by_operation["listFinancialEventsByGroupId"]
    assert pages > len(expected)  # NextToken was followed
    assert refunds_seen and ads_seen and fba_seen


def test_group_events_page_by_page_go_on_from_a_token(closed_sandbox):
    """A caller may stop between pages and go on later (another client, another run) from
    the NextToken: the pages, folded, are the group whole; no page is read twice."""
    expected = closed_sandbox.state.finance_groups()
    gid = max(expected, key=lambda g: len(expected[g]["events"]))
    group = expected[gid]
    assert len(group["events"]) >= 5, "a group of several pages"
    with make_client(closed_sandbox) as client:
        pages = client.finances.group_event_pages(gid, page_size=2)
        first, token = next(pages)
        pages.close()  # the run stops here, the token kept
        assert token and isinstance(first, dict) and "FinancialEvents" in first
        assert client.stats.by_operation["listFinancialEventsByGroupId"] == 1
    kept = [first]
    with make_client(closed_sandbox) as client:
        for payload, next_token in client.finances.group_event_pages(gid, token, page_size=2):
            assert payload.get("NextToken") == next_token
            kept.append(payload)
            token = next_token
        read = client.stats.by_operation["listFinancialEventsByGroupId"]
    assert token is None
    assert 1 + read == len(kept) == -(-len(group["events"]) // 2)
    events = finances.parse_financial_events(kept)
    assert events.total == group["total"]
    assert events.fee_total == group["fees"]
    assert events.event_count == len(group["events"])
    with make_client(closed_sandbox) as client:
        whole = client.finances.list_financial_events_by_group_id(gid, page_size=2)
    assert (whole.total, whole.fees, whole.charges) == (events.total, events.fees, events.charges)
    assert whole.shipment_order_ids == events.shipment_order_ids
    with pytest.raises(ValueError):
        client.finances.group_event_pages("")


def test_a_malformed_group_page_is_refused_when_read(closed_sandbox):
    """A page yielded is a page that folds: a malformed one raises as it is read, after
    the pages before it were yielded."""
    gid = max(
        closed_sandbox.state.finance_groups().items(), key=lambda item: len(item[1]["events"])
    )[0]
    with make_client(closed_sandbox) as client:
        pages = client.finances.group_event_pages(gid, page_size=2)
        _payload, token = next(pages)
        assert token
        closed_sandbox.faults.add(
            operation="listFinancialEventsByGroupId", kind="missing_field", count=1
        )
        with pytest.raises(errors.SpApiResponseError, match="payload") as info:
            next(pages)
    assert info.value.operation == "listFinancialEventsByGroupId"


def test_open_group_and_refund_on_a_hand_made_order():
    scenario = Scenario.from_dict(
        {
            "marketplaces": ["DE"],
            "start": "2026-11-20T12:00:00Z",
            "finances": {"settlementDays": 14, "settlementAnchor": "2026-11-19T00:00:00Z"},
            "orders": [
                {
                    "orderId": "302-0000001-0000001",
                    "marketplaceId": "DE",
                    "fulfilledBy": "AMAZON",
                    "createdTime": "2026-11-20T10:00:00Z",
                    "events": [{"time": "2026-11-20T10:00:00Z", "status": "SHIPPED"}],
                    "items": [
                        {
                            "orderItemId": "11111111111111",
                            "sku": "MUG",
                            "quantity": 2,
                            "unitPrice": "20.00",
                        }
                    ],
                }
            ],
        }
    )
    with SandboxServer(scenario, port=0, speed=1000.0) as srv:
        srv.state.refund("302-0000001-0000001")
        srv.state.add_ads_charge("DE", "10.00", "1.90")
        srv.state.advance(600)
        with make_client(srv) as client:
            [group] = client.finances.list_financial_event_groups()
            assert not group.is_closed and group.end is None
            events = client.finances.list_financial_events_by_group_id(group.group_id)
    # 40.00 sold, commission 6.00, FBA 2 x 3.22; refund: -40.00, commission back 6.00, admin
    # fee 1.20; advertising 11.90
    assert events.charges["Principal"] == Decimal("0.00")
    assert events.fees["Commission"] == Decimal("0.00")
    assert events.fees["FBAPerUnitFulfillmentFee"] == Decimal("-6.44")
    assert events.fees["RefundCommission"] == Decimal("-1.20")
    assert events.fees["Advertising"] == Decimal("-11.90")
    assert events.fee_total == Decimal("-19.54")
    assert events.total == group.original_total.amount == Decimal("-19.54")
    assert events.shipment_order_ids == ["302-0000001-0000001"]
    assert events.refund_order_ids == ["302-0000001-0000001"]


@pytest.mark.forbidden_requests
def test_bad_window_is_refused(sandbox):
    too_late = (sandbox.state.now() - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with make_client(sandbox) as client:
        with pytest.raises(errors.SpApiBadRequestError, match="two minutes"):
            client.finances.list_financial_event_groups(started_after=too_late)


@pytest.mark.forbidden_requests
def test_forged_next_token_is_refused(sandbox, sandbox_http):
    response = sandbox_http.get(GROUPS, params={"NextToken": "forged"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"
    assert isinstance(sandbox_http, httpx.Client)


def test_parsing_is_pure_and_strict():
    payload = {
        "FinancialEvents": {
            "ShipmentEventList": [
                {
                    "AmazonOrderId": "A",
                    "PostedDate": "2026-11-20T10:00:00Z",
                    "ShipmentItemList": [
                        {
                            "ItemChargeList": [
                                {
                                    "ChargeType": "Principal",
                                    "ChargeAmount": {"CurrencyCode": "USD", "CurrencyAmount": 10.1},
                                },
                                {
                                    "ChargeType": "Tax",
                                    "ChargeAmount": {"CurrencyCode": "USD", "CurrencyAmount": 0.73},
                                },
                            ],
                            "ItemTaxWithheldList": [
                                {
                                    "TaxesWithheld": [
                                        {
                                            "ChargeType": "MarketplaceFacilitatorTax-Principal",
                                            "ChargeAmount": {
                                                "CurrencyCode": "USD",
                                                "CurrencyAmount": -0.73,
                                            },
                                        }
                                    ]
                                }
                            ],
                            "ItemFeeList": [
                                {
                                    "FeeType": "Commission",
                                    "FeeAmount": {"CurrencyCode": "USD", "CurrencyAmount": -1.52},
                                }
                            ],
                        }
                    ],
                }
            ],
            "ServiceFeeEventList": [
                {
                    "FeeList": [
                        {
                            "FeeType": "Subscription",
                            "FeeAmount": {"CurrencyCode": "USD", "CurrencyAmount": -39.99},
                        }
                    ]
                }
            ],
            "AdjustmentEventList": [{"AdjustmentType": "X"}],
            "RefundEventList": [],
        }
    }
    events = finances.parse_financial_events([payload])
    assert events.charges == {"Principal": Decimal("10.1"), "Tax": Decimal("0.73")}
    assert events.taxes_withheld == Decimal("-0.73")
    assert events.fees == {"Commission": Decimal("-1.52"), "Subscription": Decimal("-39.99")}
    assert events.total == Decimal("-31.41")
    assert events.unhandled == {"AdjustmentEventList": 1}
    assert events.shipment_order_ids == ["A"] and events.currencies == {"USD"}
    bad = {
        "FinancialEvents": {
            "ShipmentEventList": [
                {
                    "ShipmentItemList": [
                        {
                            "ItemFeeList": [
                                {"FeeType": "Commission", "FeeAmount": {"CurrencyAmount": "lots"}}
                            ]
                        }
                    ]
                }
            ]
        }
    }
    with pytest.raises(finances.FinanceParseError, match=r"ItemFeeList\[0\]\.FeeAmount"):
        finances.parse_financial_events([bad])
    with pytest.raises(finances.FinanceParseError, match="FinancialEventGroupId"):
        finances.parse_financial_event_groups({"FinancialEventGroupList": [{}]})
