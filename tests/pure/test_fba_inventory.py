"""client.inventory and client.reports against the sandbox's FBA inventory over real HTTP:
every page read, the breakdown typed, the returns report created, polled, downloaded and
parsed; Amazon's rate limits respected; the sandbox's inventory follows orders, returns
and unexplained events."""

import gzip
import time
from datetime import timedelta

import contract
import httpx
import pytest
from test_client import make_client

from amazon_sp import errors, reports
from amazon_sp.reports import CustomerReturn, ReportError, parse_customer_returns
from sp_sandbox import SandboxServer, Scenario

ES = "A1RKKUPIHCS9HS"
DE = "A1PA6795UKMFR9"


def _stock_scenario(skus, marketplace=ES, **extra):
    return Scenario.from_dict(
        {
            "marketplaces": ["ES", "DE"],
            "orders": [],
            "start": "2026-11-20T12:00:00Z",
            "fba": {
                "stock": {
                    f"SKU-{n:04d}": {"marketplaceId": marketplace, "initial": n % 7}
                    for n in range(skus)
                },
                **extra,
            },
        }
    )


def _pending_fba_order(state, sku, quantity):
    return state.add_order(
        {
            "marketplaceId": ES,
            "fulfilledBy": "AMAZON",
            "items": [{"sku": sku, "unitPrice": "10.00", "quantity": quantity}],
        }
    )


def test_summaries_match_the_sandbox_and_read_every_page(sandbox_scenario):
    with SandboxServer(_stock_scenario(120), port=0, speed=1000.0) as srv:
        with make_client(srv) as client:
            summaries = client.inventory.summaries(ES)
            calls = client.stats.by_operation["getInventorySummaries"]
        assert calls == 3  # 50 + 50 + 20
        assert [s.sku for s in summaries] == [f"SKU-{n:04d}" for n in range(120)]
        assert all(s.fulfillable == n % 7 and s.reserved == 0 for n, s in enumerate(summaries))
        assert all(s.marketplace_id == ES and s.fnsku for s in summaries)
        assert srv.state.stats["rejections"] == []


def test_generated_seller_inventory_typed_per_marketplace(sandbox):
    ids = [m["id"] for m in sandbox.scenario.marketplaces]
    with make_client(sandbox) as client:
        by_sku = client.inventory.by_sku(ids)
        assert client.stats.by_operation["getInventorySummaries"] == len(ids)
    expected = sandbox.state.fba_inventory()
    assert set(by_sku) == set(expected)
    for sku, summary in by_sku.items():
        row = expected[sku]
        assert summary.fulfillable == row["fulfillable"]
        assert summary.reserved == summary.pending_customer_order
        assert summary.reserved == row["pendingCustomerOrderQuantity"]
        assert summary.unfulfillable == sum(row["unfulfillable"].values())
        assert summary.researching == row["researching"]
        assert (
            summary.inbound
            == row["inboundWorking"] + row["inboundShipped"] + row["inboundReceiving"]
        )
        assert summary.total == (
            summary.fulfillable
            + summary.reserved
            + summary.unfulfillable
            + summary.researching
            + summary.inbound
        )
        assert summary.in_stock == summary.fulfillable + summary.reserved
    assert sum(s.researching for s in by_sku.values()) >= 1  # the generated "lost" event
    assert sandbox.state.stats["rejections"] == []


def test_inventory_follows_orders_returns_and_events():
    scenario = _stock_scenario(1)
    scenario.fba["stock"]["SKU-0000"]["initial"] = 10
    with SandboxServer(scenario, port=0, speed=1000.0) as srv:
        state = srv.state

        def now():
            with make_client(srv) as client:
                return client.inventory.summaries(ES, skus=["SKU-0000"])[0]

        assert (now().fulfillable, now().reserved) == (10, 0)
        order_id = _pending_fba_order(state, "SKU-0000", 3)
        assert (now().fulfillable, now().reserved) == (7, 3)
        state.ship_fba(order_id)
        assert (now().fulfillable, now().reserved) == (7, 0)
        state.add_return({"orderId": order_id, "sku": "SKU-0000", "disposition": "SELLABLE"})
        state.add_return({"orderId": order_id, "sku": "SKU-0000", "disposition": "DEFECTIVE"})
        assert (now().fulfillable, now().unfulfillable) == (8, 1)
        state.add_inventory_event({"sku": "SKU-0000", "kind": "damage", "quantity": 2})
        state.add_inventory_event({"sku": "SKU-0000", "kind": "found", "quantity": 1})
        state.add_inventory_event({"sku": "SKU-0000", "kind": "lost", "quantity": 1})
        summary = now()
        assert (summary.fulfillable, summary.unfulfillable, summary.researching) == (6, 3, 1)


@pytest.mark.forbidden_requests
@pytest.mark.skipif(not contract.models_available(), reason=contract.SKIP_REASON)
def test_requests_amazon_refuses():
    with SandboxServer(_stock_scenario(60), port=0, speed=1000.0) as srv:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": "Atzr|t",
            "client_id": "c",
            "client_secret": "s",
        }
        access = httpx.post(srv.lwa_url, data=form).json()["access_token"]
        http = httpx.Client(base_url=srv.url, headers={"x-amz-access-token": access})
        base = {"granularityType": "Marketplace", "granularityId": ES, "marketplaceIds": ES}
        path = "/fba/inventory/v1/summaries"
        assert http.get(path, params={**base, "granularityId": DE}).status_code == 400
        assert http.get(path, params={**base, "granularityType": "Store"}).status_code == 400
        assert http.get(path, params={**base, "marketplaceIds": f"{ES},{DE}"}).status_code == 400
        first = http.get(path, params=base).json()
        token = first["pagination"]["nextToken"]
        assert http.get(path, params={**base, "nextToken": token}).status_code == 200
        srv.state.advance(31)
        expired = http.get(path, params={**base, "nextToken": token})
        assert expired.status_code == 400 and "expired" in expired.text
        body = {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [ES]}
        assert http.post("/reports/2021-06-30/reports", json=body).status_code == 400
        assert http.post("/reports/2021-06-30/reports", json={"reportType": "x"}).status_code == 400
        http.close()


def test_inventory_rate_limit_respected_without_429():
    """At speed 1 (Amazon's own pace): 6 pages at 2 requests/s, burst 2, take >= 2 s and
    are never throttled: the client waits for its turn instead of provoking 429s."""
    with SandboxServer(_stock_scenario(300), port=0, speed=1.0) as srv:
        with make_client(srv) as client:
            started = time.monotonic()
            summaries = client.inventory.summaries(ES)
            elapsed = time.monotonic() - started
            assert len(summaries) == 300
            assert client.stats.by_operation["getInventorySummaries"] == 6
            assert client.stats.throttled == 0
        assert elapsed >= (6 - 2) / 2.0 * 0.95
        assert srv.state.stats["throttled"] == 0


def _return_rows(order_id):
    return [
        {
            "orderId": order_id,
            "sku": "SKU-0001",
            "disposition": "SELLABLE",
            "time": "2026-11-19T10:00:00Z",
            "licensePlateNumber": "LPN0001",
        },
        {
            "orderId": order_id,
            "sku": "SKU-0001",
            "disposition": "DEFECTIVE",
            "time": "2026-11-19T11:00:00Z",
            "reason": "DEFECTIVE",
        },
    ]


def test_returns_report_flow_typed():
    scenario = _stock_scenario(3, returns=_return_rows("171-0000001-0000001"))
    scenario.fba["returns"][0]["marketplaceId"] = ES
    scenario.fba["returns"][1]["marketplaceId"] = ES
    with SandboxServer(scenario, port=0, speed=1000.0) as srv:
        with make_client(srv) as client:
            end = client.amazon_now() - timedelta(minutes=5)
            status, rows = client.reports.customer_returns([ES], end - timedelta(days=3), end)
            calls = dict(client.stats.by_operation)
            empty_status, empty = client.reports.customer_returns(
                [DE], end - timedelta(days=3), end
            )
        assert (
            status.is_done and status.document_id and status.report_type == reports.CUSTOMER_RETURNS
        )
        assert calls["createReport"] == 1 and calls["getReportDocument"] == 1
        assert calls["getReport"] >= 1
        assert [r.detailed_disposition for r in rows] == ["SELLABLE", "DEFECTIVE"]
        sellable, defective = rows
        assert isinstance(sellable, CustomerReturn) and sellable.sellable and not defective.sellable
        assert sellable.key == "LPN:LPN0001"
        assert defective.key == "171-0000001-0000001|SKU-0001|2026-11-19T11:00:00Z"
        assert sellable.quantity == 1 and sellable.order_id == "171-0000001-0000001"
        assert empty_status.is_empty and empty == []
        assert srv.state.stats["rejections"] == []


@pytest.mark.parametrize("fault", ["foreign_host", "plain_http", "gzip_bomb"])
def test_returns_report_document_only_from_amazon_storage_within_caps(fault):
    """The returns report is downloaded like every document: https to Amazon's storage
    only, inflated within the caps; anything else is refused and nothing is returned."""
    from amazon_sp import documents

    scenario = _stock_scenario(3, returns=_return_rows("171-0000001-0000001"))
    scenario.fba["returns"][0]["marketplaceId"] = ES
    scenario.fba["returns"][1]["marketplaceId"] = ES
    with SandboxServer(scenario, port=0, speed=1000.0) as srv:
        srv.app.document_fault = fault
        srv.app.document_bomb_bytes = 4 << 20
        limits = documents.DocumentLimits(max_uncompressed=1 << 20, allow_loopback=True)
        with make_client(srv, document_limits=limits) as client:
            end = client.amazon_now() - timedelta(minutes=5)
            with pytest.raises(documents.DocumentRefusedError):
                client.reports.customer_returns([ES], end - timedelta(days=3), end)


def test_returns_report_pending_then_resumed_and_fatal():
    scenario = _stock_scenario(3, returns=_return_rows("171-0000001-0000002"))
    for row in scenario.fba["returns"]:
        row["marketplaceId"] = ES
    with SandboxServer(scenario, port=0, speed=0.001) as srv:  # reports take ~17 hours
        with make_client(srv) as client:
            end = client.amazon_now() - timedelta(minutes=5)
            status, rows = client.reports.customer_returns(
                [ES], end - timedelta(days=3), end, max_seconds=0
            )
            assert status.is_pending and rows is None
            srv.state.advance(60 / 0.001)
            status, rows = client.reports.customer_returns(
                [ES], None, None, report_id=status.report_id
            )
            assert status.is_done and len(rows) == 2
            report_id = client.reports.create(reports.CUSTOMER_RETURNS, [ES], None, end)
            srv.state.reports[report_id]["processingStatus"] = "FATAL"
            with pytest.raises(errors.SpApiResponseError, match="FATAL"):
                client.reports.customer_returns([ES], None, None, report_id=report_id)


def test_parse_customer_returns_any_column_order_and_errors():
    text = (
        "\ufeffsku\treturn-date\torder-id\tquantity\tdetailed-disposition\tlicense-plate-number\n"
        "A-1\t2026-11-19T10:00:00+01:00\t171-1\t2\tcustomer_damaged\t\n"
        "\n"
    )
    (row,) = parse_customer_returns(text.encode())
    assert row.sku == "A-1" and row.quantity == 2 and row.detailed_disposition == "CUSTOMER_DAMAGED"
    assert row.return_date.isoformat() == "2026-11-19T09:00:00" and row.license_plate_number is None
    assert parse_customer_returns(b"") == []
    with pytest.raises(ReportError, match="quantity"):
        parse_customer_returns(b"sku\treturn-date\torder-id\tdetailed-disposition\n")
    with pytest.raises(ReportError, match="line 2"):
        parse_customer_returns(
            "sku\treturn-date\torder-id\tquantity\tdetailed-disposition\n"
            "A\tyesterday\t1\t1\tSELLABLE\n"
        )
    with pytest.raises(ReportError, match="GZIP"):
        reports.decompress(b"not gzip", "GZIP")
    assert reports.decompress(gzip.compress(b"x"), "GZIP") == b"x"
