"""The sandbox refuses, over HTTP, every request Amazon's models forbid (400 InvalidInput naming
the parameter), page tokens sent with other filters, windows ending later than now - 2 min, and
feed documents outside Amazon's listings feed schema; every refusal is counted."""

import gzip
import json
import logging
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft7Validator

from sp_sandbox import SandboxServer, Scenario
from sp_sandbox.values import format_time

SEARCH = "/orders/2026-01-01/orders"
V0 = "/orders/v0/orders"
FEEDS = "/feeds/2021-06-30"
EPOCH = "2020-01-01T00:00:00Z"
SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "sp-api" / "schemas"
# every test here sends requests Amazon's models forbid, on purpose
pytestmark = pytest.mark.forbidden_requests
needs_models = pytest.mark.skipif(
    not SCHEMAS.is_dir(), reason="Amazon's models (../shared/sp-api) are absent"
)


def refused(response, *words):
    """400 InvalidInput in Amazon's error shape, its message naming every one of ``words``."""
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["code"] == "InvalidInput"
    for word in words:
        assert word in error["message"], (word, error)
    return error


def rejected(http):
    return http.get("/_sandbox/stats").json()["rejected_requests"]


@needs_models
@pytest.mark.parametrize(
    "method, path, params, body, named",
    [
        ("GET", V0, {"CreatedAfter": EPOCH}, None, "MarketplaceIds"),  # required
        ("GET", SEARCH, {"lastUpdatedAfter": EPOCH, "fulfilledBy": "SELLER"}, None, "fulfilledBy"),
        (
            "GET",
            SEARCH,
            {"lastUpdatedAfter": EPOCH, "marketplaceIds": ",".join(["ATVPDKIKX0DER"] * 51)},
            None,
            "marketplaceIds",
        ),  # maxItems 50
        ("GET", SEARCH, {"createdAfter": "01/03/2026"}, None, "createdAfter"),  # date-time
        (
            "GET",
            SEARCH,
            {"lastUpdatedAfter": "2026-03-01"},
            None,
            "lastUpdatedAfter",
        ),  # a date is not a date-time
        (
            "GET",
            f"{FEEDS}/feeds",
            {"feedTypes": "JSON_LISTINGS_FEED", "pageSize": 500},
            None,
            "pageSize",
        ),  # maximum 100
        (
            "POST",
            f"{FEEDS}/feeds",
            None,
            {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": ["ATVPDKIKX0DER"]},
            "inputFeedDocumentId",
        ),
        ("POST", f"{FEEDS}/documents", None, {"contentTypo": "application/json"}, "contentType"),
        (
            "POST",
            "/tokens/2021-03-01/restrictedDataToken",
            None,
            {"restrictedResources": [{"method": "FETCH", "path": "/orders/v0/orders"}]},
            "method",
        ),
    ],
)
def test_the_model_rules_every_request(sandbox_http, method, path, params, body, named):
    before = rejected(sandbox_http)
    response = sandbox_http.request(method, path, params=params, json=body)
    refused(response, named)
    assert rejected(sandbox_http) == before + 1


@needs_models
def test_confirm_shipment_body_follows_the_model(sandbox, sandbox_http):
    order_id = next(
        i
        for i, r in sandbox.state.orders.items()
        if r["fulfilledBy"] == "MERCHANT" and sandbox.state.order_status(i) == "UNSHIPPED"
    )
    record = sandbox.state.orders[order_id]
    detail = {
        "packageReferenceId": "1",
        "carrierCode": "DHL",
        "trackingNumber": "TRK1",
        "shipDate": "yesterday",  # not a date-time
        "orderItems": [{"orderItemId": record["items"][0]["orderItemId"], "quantity": 1}],
    }
    response = sandbox_http.post(
        f"{V0}/{order_id}/shipmentConfirmation",
        json={"marketplaceId": record["marketplace"]["id"], "packageDetail": detail},
    )
    refused(response, "shipDate")
    assert sandbox.state.shipments(order_id) == []


def test_without_the_models_the_sandbox_serves_unvalidated(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="sp_sandbox")
    with SandboxServer(Scenario.generate(orders=5, seed=2), models_dir=tmp_path) as server:
        assert not server.app.rules.available
        token = httpx.post(
            server.lwa_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": "r",
                "client_id": "c",
                "client_secret": "s",
            },
        ).json()["access_token"]
        response = httpx.get(
            server.url + SEARCH,
            params={"lastUpdatedAfter": EPOCH, "maxResultsPerPage": 1},
            headers={"x-amz-access-token": token},
        )
    assert response.status_code == 200
    assert any("NOT validated" in r.getMessage() for r in caplog.records)


def test_page_token_with_other_filters_is_refused(sandbox, sandbox_http):
    params = {"lastUpdatedAfter": EPOCH, "maxResultsPerPage": 5, "fulfilledBy": "MERCHANT"}
    token = sandbox_http.get(SEARCH, params=params).json()["pagination"]["nextToken"]
    before = rejected(sandbox_http)
    refused(
        sandbox_http.get(
            SEARCH, params={**params, "fulfilledBy": "AMAZON", "paginationToken": token}
        ),
        "paginationToken",
        "fulfilledBy",
    )
    # the model: "all other parameters must be provided with the same values"
    refused(
        sandbox_http.get(SEARCH, params={"paginationToken": token}),
        "paginationToken",
        "lastUpdatedAfter",
    )
    assert rejected(sandbox_http) == before + 2
    # page size and includedData may change between pages
    fine = sandbox_http.get(
        SEARCH,
        params={
            **params,
            "maxResultsPerPage": 7,
            "includedData": "PROCEEDS",
            "paginationToken": token,
        },
    )
    assert fine.status_code == 200 and len(fine.json()["orders"]) == 7
    mps = ",".join(sandbox.state.marketplaces)
    v0 = {"MarketplaceIds": mps, "LastUpdatedAfter": EPOCH, "MaxResultsPerPage": 5}
    next_token = sandbox_http.get(V0, params=v0).json()["payload"]["NextToken"]
    refused(
        sandbox_http.get(V0, params={**v0, "OrderStatuses": "Shipped", "NextToken": next_token}),
        "NextToken",
        "OrderStatuses",
    )
    assert sandbox_http.get(V0, params={**v0, "NextToken": next_token}).status_code == 200


def test_window_end_later_than_two_minutes_ago_is_refused(sandbox, sandbox_http):
    too_late = format_time(sandbox.state.now() - timedelta(seconds=90))
    mps = ",".join(sandbox.state.marketplaces)
    before = rejected(sandbox_http)
    refused(
        sandbox_http.get(SEARCH, params={"lastUpdatedAfter": EPOCH, "lastUpdatedBefore": too_late}),
        "lastUpdatedBefore",
    )
    refused(
        sandbox_http.get(SEARCH, params={"createdAfter": EPOCH, "createdBefore": too_late}),
        "createdBefore",
    )
    refused(
        sandbox_http.get(
            V0,
            params={
                "MarketplaceIds": mps,
                "LastUpdatedAfter": EPOCH,
                "LastUpdatedBefore": too_late,
            },
        ),
        "LastUpdatedBefore",
    )
    refused(
        sandbox_http.get(
            V0, params={"MarketplaceIds": mps, "CreatedAfter": EPOCH, "CreatedBefore": too_late}
        ),
        "CreatedBefore",
    )
    assert rejected(sandbox_http) == before + 4


def _submit_feed(sandbox, http, document):
    content_type = "application/json; charset=UTF-8"
    created = http.post(f"{FEEDS}/documents", json={"contentType": content_type}).json()
    upload = httpx.put(
        created["url"],
        content=json.dumps(document).encode(),
        headers={"Content-Type": content_type},
    )
    assert upload.status_code == 200
    feed_id = http.post(
        f"{FEEDS}/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": ["ATVPDKIKX0DER"],
            "inputFeedDocumentId": created["feedDocumentId"],
        },
    ).json()["feedId"]
    sandbox.state.advance(3600)
    # processing (schema checks of up to 10,000 messages) happens on this call: seconds
    feed = http.get(f"{FEEDS}/feeds/{feed_id}", timeout=120).json()
    result = http.get(f"{FEEDS}/documents/{feed['resultFeedDocumentId']}").json()
    raw = httpx.get(result["url"]).content
    if result.get("compressionAlgorithm") == "GZIP":
        raw = gzip.decompress(raw)
    return feed, json.loads(raw)


def _message(number, sku, quantity=1):
    return {
        "messageId": number,
        "sku": sku,
        "operationType": "PATCH",
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
            }
        ],
    }


@needs_models
@pytest.mark.parametrize(
    "spoil, said",
    [
        (lambda doc: doc["header"].pop("version"), "version"),
        (lambda doc: doc["messages"][0].update(operationType="UPSERT"), "UPSERT"),
        (lambda doc: doc["messages"][0].pop("productType"), "productType"),
        (lambda doc: doc["messages"].extend(doc["messages"][:1] * 10_000), "10000"),
    ],
)
def test_feed_outside_amazons_schema_ends_fatal(sandbox, sandbox_http, spoil, said):
    sku = sorted(sandbox.state.listings)[0]
    quantity = sandbox.state.listings[sku]["quantity"]
    document = {
        "header": {"sellerId": sandbox.scenario.seller["sellerId"], "version": "2.0"},
        "messages": [_message(1, sku, quantity + 5)],
    }
    spoil(document)
    feed, report = _submit_feed(sandbox, sandbox_http, document)
    assert feed["processingStatus"] == "FATAL"
    assert any(said in issue["message"] for issue in report["issues"]), report["issues"]
    assert sandbox.state.listings[sku]["quantity"] == quantity  # nothing applied
    schema = json.loads((SCHEMAS / "listings-feed-processing-report-schema-v2.json").read_text())
    assert not list(Draft7Validator(schema).iter_errors(report))


def test_a_feed_of_ten_thousand_messages_is_processed(sandbox, sandbox_http):
    sku = sorted(sandbox.state.listings)[0]
    document = {
        "header": {"sellerId": sandbox.scenario.seller["sellerId"], "version": "2.0"},
        "messages": [_message(n, sku, n % 50) for n in range(1, 10_001)],
    }
    feed, report = _submit_feed(sandbox, sandbox_http, document)
    assert feed["processingStatus"] == "DONE"
    assert report["summary"]["messagesAccepted"] == 10_000


def test_refusals_of_the_orders_state_are_not_contract_rejections(sandbox, sandbox_http):
    """A package confirmed twice (after a lost answer, say) gets Amazon's 400, but the
    request itself is one the model allows: not counted as a rejection."""
    order_id = next(
        i
        for i, r in sandbox.state.orders.items()
        if r["fulfilledBy"] == "MERCHANT" and sandbox.state.order_status(i) == "UNSHIPPED"
    )
    record = sandbox.state.orders[order_id]
    body = {
        "marketplaceId": record["marketplace"]["id"],
        "packageDetail": {
            "packageReferenceId": "1",
            "carrierCode": "DHL",
            "trackingNumber": "TRK1",
            "shipDate": format_time(sandbox.state.now()),
            "orderItems": [{"orderItemId": record["items"][0]["orderItemId"], "quantity": 1}],
        },
    }
    path = f"{V0}/{order_id}/shipmentConfirmation"
    assert sandbox_http.post(path, json=body).status_code == 204
    before = rejected(sandbox_http)
    refused(sandbox_http.post(path, json=body), "Duplicate packageReferenceId")
    assert rejected(sandbox_http) == before
