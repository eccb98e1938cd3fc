"""Contract: what the sandbox serves for every operation validates against Amazon's models.

(Everything served in the whole session is also checked at the end by conftest.py.)
"""

import contract
import httpx
import pytest

pytestmark = pytest.mark.skipif(not contract.models_available(), reason=contract.SKIP_REASON)

V0 = "/orders/v0/orders"
V26 = "/orders/2026-01-01/orders"
ALL = "BUYER,RECIPIENT,PROCEEDS,EXPENSE,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES,TAX,PAYMENT"


def check(model, operation_id, response, status=None):
    if status is not None:
        assert response.status_code == status, response.text
    contract.assert_valid_response(model, operation_id, response.status_code, response.content)


def test_validator_catches_contract_breaks():
    good = {"errors": [{"code": "InvalidInput", "message": "x"}]}
    assert contract.validate_response("ordersV0", "getOrders", 400, good) == []
    assert contract.validate_response("orders_2026-01-01", "getOrder", 200, {"order": {}})
    assert contract.validate_response("ordersV0", "confirmShipment", 204, b"") == []
    assert contract.validate_response("ordersV0", "confirmShipment", 204, b"{}")
    assert contract.validate_response("sellers", "nope", 200, {})
    assert contract.validate_response("feeds_2021-06-30", "getFeed", 200, b"{trunc")


@pytest.mark.forbidden_requests
def test_every_operation_and_error_matches_the_models(sandbox, sandbox_http):
    state = sandbox.state
    check(
        "sellers",
        "getMarketplaceParticipations",
        sandbox_http.get("/sellers/v1/marketplaceParticipations"),
        200,
    )
    pages = sandbox_http.get(
        V26, params={"lastUpdatedAfter": "2020-01-01T00:00:00Z", "includedData": ALL}
    )
    check("orders_2026-01-01", "searchOrders", pages, 200)
    check(
        "orders_2026-01-01",
        "searchOrders",
        sandbox_http.get(
            V26, params={"createdAfter": "2020-01-01T00:00:00Z", "maxResultsPerPage": 3}
        ),
        200,
    )
    check("orders_2026-01-01", "searchOrders", sandbox_http.get(V26), 400)
    order_id = pages.json()["orders"][0]["orderId"]
    check(
        "orders_2026-01-01",
        "getOrder",
        sandbox_http.get(f"{V26}/{order_id}", params={"includedData": ALL}),
        200,
    )
    check("orders_2026-01-01", "getOrder", sandbox_http.get(f"{V26}/000-0000000-0000000"), 404)
    mps = ",".join(state.marketplaces)
    rdt = sandbox_http.post(
        "/tokens/2021-03-01/restrictedDataToken",
        json={
            "restrictedResources": [
                {"method": "GET", "path": V0, "dataElements": ["buyerInfo", "shippingAddress"]},
                {
                    "method": "GET",
                    "path": V0 + "/{orderId}",
                    "dataElements": ["buyerInfo", "shippingAddress"],
                },
                {
                    "method": "GET",
                    "path": V0 + "/{orderId}/orderItems",
                    "dataElements": ["buyerInfo"],
                },
                {"method": "GET", "path": V0 + "/{orderId}/address"},
                {"method": "GET", "path": V0 + "/{orderId}/buyerInfo"},
                {"method": "GET", "path": V0 + "/{orderId}/orderItems/buyerInfo"},
            ]
        },
    )
    check("tokens_2021-03-01", "createRestrictedDataToken", rdt, 200)
    check(
        "tokens_2021-03-01",
        "createRestrictedDataToken",
        sandbox_http.post("/tokens/2021-03-01/restrictedDataToken", json={}),
        400,
    )
    headers = {"x-amz-access-token": rdt.json()["restrictedDataToken"]}
    check(
        "ordersV0",
        "getOrders",
        sandbox_http.get(
            V0,
            headers=headers,
            params={"LastUpdatedAfter": "2020-01-01T00:00:00Z", "MarketplaceIds": mps},
        ),
        200,
    )
    check("ordersV0", "getOrders", sandbox_http.get(V0, params={"MarketplaceIds": mps}), 400)
    for suffix, operation_id in (
        ("", "getOrder"),
        ("/orderItems", "getOrderItems"),
        ("/address", "getOrderAddress"),
        ("/buyerInfo", "getOrderBuyerInfo"),
        ("/orderItems/buyerInfo", "getOrderItemsBuyerInfo"),
    ):
        check(
            "ordersV0",
            operation_id,
            sandbox_http.get(f"{V0}/{order_id}{suffix}", headers=headers),
            200,
        )
        check(
            "ordersV0",
            operation_id,
            sandbox_http.get(f"{V0}/000-0000000-0000000{suffix}", headers=headers),
            404,
        )
    check("ordersV0", "getOrderAddress", sandbox_http.get(f"{V0}/{order_id}/address"), 403)
    check(
        "ordersV0",
        "confirmShipment",
        sandbox_http.post(f"{V0}/{order_id}/shipmentConfirmation", json={}),
        400,
    )
    document = sandbox_http.post(
        "/feeds/2021-06-30/documents", json={"contentType": "application/json"}
    )
    check("feeds_2021-06-30", "createFeedDocument", document, 201)
    httpx.put(document.json()["url"], content=b"{}", headers={"Content-Type": "application/json"})
    feed = sandbox_http.post(
        "/feeds/2021-06-30/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [next(iter(state.marketplaces))],
            "inputFeedDocumentId": document.json()["feedDocumentId"],
        },
    )
    check("feeds_2021-06-30", "createFeed", feed, 202)
    check(
        "feeds_2021-06-30", "createFeed", sandbox_http.post("/feeds/2021-06-30/feeds", json={}), 400
    )
    feed_url = "/feeds/2021-06-30/feeds/" + feed.json()["feedId"]
    check("feeds_2021-06-30", "getFeed", sandbox_http.get(feed_url), 200)
    state.advance(600)
    done = sandbox_http.get(feed_url)
    check("feeds_2021-06-30", "getFeed", done, 200)
    assert done.json()["processingStatus"] == "FATAL"  # "{}" has no header/messages
    check(
        "feeds_2021-06-30",
        "getFeedDocument",
        sandbox_http.get("/feeds/2021-06-30/documents/" + done.json()["resultFeedDocumentId"]),
        200,
    )
    check("feeds_2021-06-30", "getFeeds", sandbox_http.get("/feeds/2021-06-30/feeds"), 200)
    sandbox.faults.add(operation="*", kind="429", count=1)
    check(
        "orders_2026-01-01",
        "searchOrders",
        sandbox_http.get(V26, params={"lastUpdatedAfter": "2020-01-01T00:00:00Z"}),
        429,
    )
    sandbox.faults.add(operation="*", kind="503", count=1)
    check("ordersV0", "getOrderItems", sandbox_http.get(f"{V0}/{order_id}/orderItems"), 503)
