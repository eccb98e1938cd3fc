# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Selection lists shared by several models' fields (Amazon's own constants are in
``amazon_sp.const``)."""

from ..amazon_sp import const

# How an order, or an offer, is fulfilled: by Amazon (FBA) or by the merchant (FBM).
AMAZON_CHANNELS = [("fba", "Fulfilled by Amazon"), ("fbm", "Fulfilled by Merchant")]


def amazon_channel(order):
    """The ``AMAZON_CHANNELS`` key of a parsed Amazon order."""
    return "fba" if order.channel == const.CHANNEL_AFN else "fbm"


# Hosts an account may send its credentials to: Amazon's SP-API endpoints (production and
# Amazon's own sandbox) and Login with Amazon. Anything else is refused, except a sandbox on
# this machine's loopback when the system parameter below allows it.
SP_API_HOSTS = frozenset(
    f"{prefix}sellingpartnerapi-{region}.amazon.com"
    for prefix in ("", "sandbox.")
    for region in ("na", "eu", "fe")
)
LWA_HOSTS = frozenset({"api.amazon.com", "api.amazon.co.uk", "api.amazon.co.jp"})
ALLOW_SANDBOX_PARAM = "sale_amazon_connector.allow_sandbox_endpoints"
