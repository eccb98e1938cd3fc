"""Small helpers shared by the pure tests: an authorised HTTP client, a merchant order, a
clock that sleeps without waiting."""

import contextlib
from datetime import timedelta

import httpx

from amazon_sp import ClientConfig


def access_token(server, refresh_token="Atzr|test", client_id="cid", client_secret="secret"):
    """A fresh LWA access token from ``server``'s token endpoint."""
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    return httpx.post(server.lwa_url, data=form).json()["access_token"]


@contextlib.contextmanager
def authorized_http(server, **credentials):
    """Plain httpx client on ``server`` holding a fresh LWA access token."""
    token = access_token(server, **credentials)
    with httpx.Client(
        base_url=server.url, headers={"x-amz-access-token": token}, timeout=10.0
    ) as client:
        yield client


def add_merchant_order(state, marketplace_id, *items):
    """Add a seller-fulfilled order of ``(sku, unit price, quantity)`` items; its id."""
    return state.add_order(
        {
            "marketplaceId": marketplace_id,
            "fulfilledBy": "MERCHANT",
            "items": [
                {"sku": sku, "unitPrice": price, "quantity": quantity}
                for sku, price, quantity in items
            ],
        }
    )


def sandbox_config(server, client_id, client_secret, refresh_token, **options):
    """A :class:`amazon_sp.ClientConfig` pointing at ``server`` (API and LWA endpoints)."""
    return ClientConfig(
        client_id,
        client_secret,
        refresh_token,
        endpoint=server.url,
        lwa_endpoint=server.lwa_url,
        **options,
    )


def ship_with_dhl(api, order, package_reference_id, tracking_number, items):
    """Confirm ``items`` of ``order`` shipped by DHL three hours after its purchase."""
    api.confirm_shipment(
        order.order_id,
        marketplace_id=order.marketplace_id,
        package_reference_id=package_reference_id,
        carrier_code="DHL",
        tracking_number=tracking_number,
        ship_date=order.purchase_date + timedelta(hours=3),
        items=items,
    )


class FakeTime:
    """A clock and a sleep for the client and the rate limiter: sleeping moves the clock
    and is recorded, without waiting."""

    def __init__(self, now=0.0):
        self.now = now
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
