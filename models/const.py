# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Selection lists shared by several models' fields (Amazon's own constants are in
``amazon_sp.const``)."""

from ..amazon_sp import const

# How an order, or an offer, is fulfilled: by Amazon (FBA) or by the merchant (FBM).
AMAZON_CHANNELS = [("fba", "Fulfilled by Amazon"), ("fbm", "Fulfilled by Merchant")]


def amazon_channel(order):
    """The ``AMAZON_CHANNELS`` key of a parsed Amazon order."""
    return "fba" if order.channel == const.CHANNEL_AFN else "fbm"
