"""Sandbox over real HTTP: Orders v0 with RDT, confirmShipment, feeds round trip."""

import gzip
import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sandbox_helpers import add_merchant_order

V0 = "/orders/v0/orders"
RDT = "/tokens/2021-03-01/restrictedDataToken"
SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "sp-api" / "schemas"


def rdt(http, resources):
    response = http.post(RDT, json={"restrictedResources": resources})
    assert response.status_code == 200, response.text
    assert response.json()["expiresIn"] > 0
    return {"x-amz-access-token": response.json()["restrictedDataToken"]}


def first(sandbox, **wanted):
    for order_id, record in sandbox.state.orders.items():
        view = sandbox.state.view(order_id)
        if view and all(
            (view.status if k == "status" else record[k]) == v for k, v in wanted.items()
        ):
            return order_id, record
    raise AssertionError(f"no order with {wanted}")


@pytest.mark.forbidden_requests
def test_v0_pii_only_with_rdt_and_items_paging(sandbox, sandbox_http):
    mps = ",".join(sandbox.state.marketplaces)
    params = {
        "LastUpdatedAfter": "2020-01-01T00:00:00Z",
        "MarketplaceIds": mps,
        "MaxResultsPerPage": 50,
    }
    plain = sandbox_http.get(V0, params=params).json()["payload"]
    assert plain["Orders"] and "NextToken" in plain and "LastUpdatedBefore" in plain
    assert not any("BuyerInfo" in o or "ShippingAddress" in o for o in plain["Orders"])
    assert (
        sandbox_http.get(V0, params={"LastUpdatedAfter": "2020-01-01T00:00:00Z"}).status_code == 400
    )  # MarketplaceIds required
    headers = rdt(
        sandbox_http,
        [{"method": "GET", "path": V0, "dataElements": ["buyerInfo", "shippingAddress"]}],
    )
    rich = sandbox_http.get(V0, params=params, headers=headers).json()["payload"]
    assert all("BuyerInfo" in o and "ShippingAddress" in o for o in rich["Orders"])
    nxt = sandbox_http.get(
        V0, params={"NextToken": rich["NextToken"], "MarketplaceIds": mps}, headers=headers
    ).json()["payload"]
    assert not {o["AmazonOrderId"] for o in nxt["Orders"]} & {
        o["AmazonOrderId"] for o in rich["Orders"]
    }
    # restricted operations need an RDT; a generic {orderId} path covers any order
    order_id = next(o["AmazonOrderId"] for o in plain["Orders"])
    denied = sandbox_http.get(f"{V0}/{order_id}/address")
    assert denied.status_code == 403 and denied.json()["errors"][0]["code"] == "Unauthorized"
    generic = rdt(
        sandbox_http,
        [
            {"method": "GET", "path": V0 + "/{orderId}/address"},
            {"method": "GET", "path": V0 + "/{orderId}/buyerInfo"},
            {"method": "GET", "path": V0 + "/{orderId}/orderItems", "dataElements": ["buyerInfo"]},
        ],
    )
    address = sandbox_http.get(f"{V0}/{order_id}/address", headers=generic).json()["payload"]
    assert address["AmazonOrderId"] == order_id and address["ShippingAddress"]["Name"]
    assert sandbox_http.get(f"{V0}/{order_id}/buyerInfo", headers=generic).status_code == 200
    assert sandbox_http.get(f"{V0}/{order_id}", headers=generic).status_code == 403
    # items paginate with NextToken; gift data only with the buyerInfo element
    multi, record = next(
        (i, r)
        for i, r in sandbox.state.orders.items()
        if len(r["items"]) == 4 and sandbox.state.view(i)
    )
    items, token = [], None
    while True:
        query = {"NextToken": token} if token else {}
        page = sandbox_http.get(f"{V0}/{multi}/orderItems", params=query, headers=generic).json()[
            "payload"
        ]
        items += page["OrderItems"]
        token = page.get("NextToken")
        if not token:
            break
    assert [i["OrderItemId"] for i in items] == [i["orderItemId"] for i in record["items"]]
    gift_id, gift = next(
        (i, r)
        for i, r in sandbox.state.orders.items()
        if r["items"][0]["giftWrap"] and sandbox.state.view(i)
    )
    with_rdt = sandbox_http.get(f"{V0}/{gift_id}/orderItems", headers=generic).json()
    without = sandbox_http.get(f"{V0}/{gift_id}/orderItems").json()
    assert with_rdt["payload"]["OrderItems"][0]["BuyerInfo"]["GiftWrapPrice"]
    assert "BuyerInfo" not in without["payload"]["OrderItems"][0]
    assert without["payload"]["OrderItems"][0]["IsGift"] == "true"
    bad = sandbox_http.post(
        RDT,
        json={
            "restrictedResources": [
                {"method": "GET", "path": "/catalog/items", "dataElements": ["buyerInfo"]}
            ]
        },
    )
    assert bad.status_code == 400


def test_v0_amounts_match_v2026(sandbox, sandbox_http):
    for order_id in list(sandbox.state.orders)[:40]:
        if sandbox.state.view(order_id) is None:
            continue
        v26 = sandbox_http.get(
            f"/orders/2026-01-01/orders/{order_id}", params={"includedData": "PROCEEDS,FULFILLMENT"}
        ).json()["order"]
        v0 = sandbox_http.get(f"{V0}/{order_id}").json()["payload"]
        items = sandbox_http.get(f"{V0}/{order_id}/orderItems").json()["payload"]["OrderItems"]
        assert v0["OrderTotal"]["Amount"] == v26["proceeds"]["grandTotal"]["amount"]
        assert (
            v0["FulfillmentChannel"]
            == {"AMAZON": "AFN", "MERCHANT": "MFN"}[v26["fulfillment"]["fulfilledBy"]]
        )
        first_item = v26["orderItems"][0]
        rows = {b["type"]: b for b in first_item["proceeds"]["breakdowns"]}
        assert items[0]["ItemPrice"]["Amount"] == rows["ITEM"]["subtotal"]["amount"]
        tax_item = next(d for d in rows["TAX"]["detailedBreakdowns"] if d["subtype"] == "ITEM")
        assert items[0]["ItemTax"]["Amount"] == tax_item["value"]["amount"]
        discount = Decimal(items[0]["PromotionDiscount"]["Amount"]) + Decimal(
            items[0]["ShippingDiscount"]["Amount"]
        )
        assert -discount == Decimal(
            rows.get("DISCOUNT", {"subtotal": {"amount": "0"}})["subtotal"]["amount"]
        )


def confirm(http, order_id, marketplace_id, reference, lines, **extra):
    detail = {
        "packageReferenceId": str(reference),
        "carrierCode": "DHL",
        "trackingNumber": f"TRK{reference}",
        "shipDate": "2026-01-01T10:00:00Z",
        "orderItems": [{"orderItemId": i, "quantity": q} for i, q in lines],
    }
    detail.update(extra)
    return http.post(
        f"{V0}/{order_id}/shipmentConfirmation",
        json={"marketplaceId": marketplace_id, "packageDetail": detail},
    )


@pytest.mark.forbidden_requests
def test_confirm_shipment_partial_full_duplicate(sandbox, sandbox_http):
    state = sandbox.state
    order_id = add_merchant_order(state, "A1PA6795UKMFR9", ("A", "10.00", 3), ("B", "4.00", 1))
    a, b = (i["orderItemId"] for i in state.orders[order_id]["items"])
    mp = "A1PA6795UKMFR9"
    response = confirm(sandbox_http, order_id, mp, 1, [(a, 2)])
    assert response.status_code == 204 and response.content == b""
    assert state.order_status(order_id) == "PARTIALLY_SHIPPED"
    for bad, why in (
        (confirm(sandbox_http, order_id, mp, 1, [(a, 1)]), "duplicate package"),
        (confirm(sandbox_http, order_id, mp, 2, [(a, 2)]), "more than unshipped"),
        (confirm(sandbox_http, order_id, mp, 2, [("nope", 1)]), "unknown item"),
        (confirm(sandbox_http, order_id, "ATVPDKIKX0DER", 2, [(b, 1)]), "market"),
        (confirm(sandbox_http, order_id, mp, "PKG-2", [(b, 1)]), "non numeric"),
        (
            confirm(sandbox_http, order_id, mp, 2, [(b, 1)], carrierCode="Other"),
            "Other without name",
        ),
        (
            sandbox_http.post(f"{V0}/{order_id}/shipmentConfirmation", json={"marketplaceId": mp}),
            "missing detail",
        ),
    ):
        assert bad.status_code == 400, why
        assert bad.json()["errors"][0]["code"] == "InvalidInput"
    assert len(state.shipments(order_id)) == 1
    assert confirm(sandbox_http, order_id, mp, 2, [(a, 1), (b, 1)]).status_code == 204
    assert state.order_status(order_id) == "SHIPPED"
    again = confirm(sandbox_http, order_id, mp, 3, [(a, 1)])
    assert again.status_code == 400
    shipments = state.shipments(order_id)
    assert [s["packageDetail"]["packageReferenceId"] for s in shipments] == ["1", "2"]
    assert all(s["received_at"] for s in shipments)
    order = sandbox_http.get(
        f"/orders/2026-01-01/orders/{order_id}", params={"includedData": "PACKAGES,FULFILLMENT"}
    ).json()["order"]
    assert [p["packageReferenceId"] for p in order["packages"]] == ["1", "2"]
    assert all(i["fulfillment"]["quantityUnfulfilled"] == 0 for i in order["orderItems"])
    fba_id, record = first(sandbox, fulfilledBy="AMAZON")
    fba = confirm(
        sandbox_http,
        fba_id,
        record["marketplace"]["id"],
        1,
        [(record["items"][0]["orderItemId"], 1)],
    )
    assert fba.status_code == 400
    assert confirm(sandbox_http, "999-9999999-9999999", mp, 1, [(a, 1)]).status_code == 404


@pytest.mark.parametrize("kind", ["500", "reset", "slow"])
def test_confirm_shipment_fault_after_effect(sandbox, sandbox_http, kind):
    order_id, record = first(sandbox, fulfilledBy="MERCHANT", status="UNSHIPPED")
    item = record["items"][0]
    sandbox.faults.add(
        operation="confirmShipment", kind=kind, after_effect=True, count=1, delay=1.0
    )
    lines = [(item["orderItemId"], item["quantity"])]
    mp = record["marketplace"]["id"]
    if kind == "500":
        assert confirm(sandbox_http, order_id, mp, 7, lines).status_code == 500
    else:
        with pytest.raises(httpx.TransportError):
            sandbox_http.post(
                f"{V0}/{order_id}/shipmentConfirmation",
                timeout=0.3,
                json={
                    "marketplaceId": mp,
                    "packageDetail": {
                        "packageReferenceId": "7",
                        "carrierCode": "UPS",
                        "trackingNumber": "1Z",
                        "shipDate": "2026-01-01T10:00:00Z",
                        "orderItems": [
                            {"orderItemId": item["orderItemId"], "quantity": item["quantity"]}
                        ],
                    },
                },
            )
    assert len(sandbox.state.shipments(order_id)) == 1  # Amazon did record it
    retry = confirm(sandbox_http, order_id, mp, 7, lines)
    assert retry.status_code == 400  # never a second shipment for the same package
    assert len(sandbox.state.shipments(order_id)) == 1


def test_feed_round_trip_with_processing_report(sandbox, sandbox_http):
    state = sandbox.state
    known = sorted(state.listings)[:2]
    feed = {
        "header": {
            "sellerId": sandbox.scenario.seller["sellerId"],
            "version": "2.0",
            "issueLocale": "en_US",
        },
        "messages": [
            {
                "messageId": 1,
                "sku": known[0],
                "operationType": "PATCH",
                "productType": "PRODUCT",
                "patches": [
                    {
                        "op": "replace",
                        "path": "/attributes/fulfillment_availability",
                        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 17}],
                    }
                ],
            },
            {
                "messageId": 2,
                "sku": "NO-SUCH-SKU",
                "operationType": "PATCH",
                "productType": "PRODUCT",
                "patches": [
                    {
                        "op": "replace",
                        "path": "/attributes/fulfillment_availability",
                        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 1}],
                    }
                ],
            },
            {
                "messageId": 3,
                "sku": known[1],
                "operationType": "PATCH",
                "productType": "PRODUCT",
                "patches": [
                    {
                        "op": "replace",
                        "path": "/attributes/fulfillment_availability",
                        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": -4}],
                    }
                ],
            },
        ],
    }
    content_type = "application/json; charset=UTF-8"
    created = sandbox_http.post("/feeds/2021-06-30/documents", json={"contentType": content_type})
    assert created.status_code == 201
    document_id, url = created.json()["feedDocumentId"], created.json()["url"]
    assert url.startswith(sandbox.url + "/_docs/") and "X-Amz-Signature=" in url
    assert (
        httpx.put(
            url.replace("X-Amz-Signature=", "X-Amz-Signature=0"),
            content=b"{}",
            headers={"Content-Type": content_type},
        ).status_code
        == 403
    )
    upload = httpx.put(
        url, content=json.dumps(feed).encode(), headers={"Content-Type": content_type}
    )
    assert upload.status_code == 200
    response = sandbox_http.post(
        "/feeds/2021-06-30/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": ["A1PA6795UKMFR9"],
            "inputFeedDocumentId": document_id,
        },
    )
    assert response.status_code == 202
    feed_id = response.json()["feedId"]
    statuses = [sandbox_http.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()["processingStatus"]]
    for _ in range(2):
        state.advance(60)
        statuses.append(
            sandbox_http.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()["processingStatus"]
        )
    assert statuses[0] in ("IN_QUEUE", "IN_PROGRESS") and statuses[-1] == "DONE"
    done = sandbox_http.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()
    document = sandbox_http.get(
        f"/feeds/2021-06-30/documents/{done['resultFeedDocumentId']}"
    ).json()
    raw = httpx.get(document["url"]).content
    if document.get("compressionAlgorithm") == "GZIP":
        raw = gzip.decompress(raw)
    report = json.loads(raw)
    assert report["summary"]["messagesProcessed"] == 3
    assert report["summary"]["messagesAccepted"] == 1
    assert report["summary"]["messagesInvalid"] == 2
    assert {i["messageId"] for i in report["issues"]} == {2, 3}
    assert state.listings[known[0]]["quantity"] == 17
    schema_path = SCHEMAS / "listings-feed-processing-report-schema-v2.json"
    if schema_path.exists():
        import jsonschema

        jsonschema.Draft7Validator(json.loads(schema_path.read_text())).validate(report)
    assert sandbox_http.get("/feeds/2021-06-30/feeds/404404").status_code == 404
