"""Carrier resolution, tracking references and the "already on Amazon?" check."""

import pytest

from amazon_sp import carriers, const, shipments


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # Amazon's own carriers, whatever the case or spacing
        ("DHL", ("DHL", None)),
        ("dhl", ("DHL", None)),
        ("  Dhl   Express ", ("DHL Express", None)),
        ("UPS", ("UPS", None)),
        ("ups mail innovations", ("UPS Mail Innovations", None)),
        ("correos express", ("Correos Express", None)),
        ("CORREOS", ("Correos", None)),
        # a carrier the seller created with an Amazon carrier name is that carrier
        ("easyship", ("Easyship", None)),
        ("EASYSHIP", ("Easyship", None)),
        # self delivery, English and Spanish
        ("Self Delivery", (const.CARRIER_SELF_DELIVERY, None)),
        ("self delivery", (const.CARRIER_SELF_DELIVERY, None)),
        ("SELF-DELIVERY", (const.CARRIER_SELF_DELIVERY, None)),
        ("Autoentrega", (const.CARRIER_SELF_DELIVERY, None)),
        ("autoENTREGA", (const.CARRIER_SELF_DELIVERY, None)),
        ("Entrega propia", (const.CARRIER_SELF_DELIVERY, None)),
        # anything else is sent as free text
        ("Mensajería Paco", (const.CARRIER_OTHER, "Mensajería Paco")),
        ("  My  Local Courier ", (const.CARRIER_OTHER, "My Local Courier")),
        ("DHL Paket Spain", (const.CARRIER_OTHER, "DHL Paket Spain")),
    ],
)
def test_resolve_carrier(name, expected):
    assert carriers.resolve_carrier(name) == expected


@pytest.mark.parametrize("name", ["", "   ", None])
def test_resolve_carrier_refuses_an_empty_name(name):
    with pytest.raises(ValueError):
        carriers.resolve_carrier(name)


def test_every_amazon_carrier_resolves_to_itself():
    for name in const.AMAZON_CARRIERS:
        assert carriers.resolve_carrier(name.upper()) == (name, None)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("1Z999AA10123456784", "1Z999AA10123456784"),
        ("  PK123456789ES ", "PK123456789ES"),
        ("JJD 0001 2345", "JJD 0001 2345"),
        ("x" * const.TRACKING_REF_MAX_LENGTH, "x" * const.TRACKING_REF_MAX_LENGTH),
    ],
)
def test_valid_tracking_refs(ref, expected):
    assert carriers.validate_tracking_ref(ref) == expected


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        (None, carriers.TRACKING_EMPTY),
        (False, carriers.TRACKING_EMPTY),  # an empty Odoo field
        ("", carriers.TRACKING_EMPTY),
        (" \t \n", carriers.TRACKING_EMPTY),
        ("x" * (const.TRACKING_REF_MAX_LENGTH + 1), carriers.TRACKING_TOO_LONG),
        ("PK123\nPK456", carriers.TRACKING_CONTROL_CHARS),
        ("PK123\tPK456", carriers.TRACKING_CONTROL_CHARS),
    ],
)
def test_invalid_tracking_refs(ref, reason):
    with pytest.raises(carriers.InvalidTrackingRef) as info:
        carriers.validate_tracking_ref(ref)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)


def _order(status="PARTIALLY_SHIPPED", packages=(), unfulfilled=None):
    unfulfilled = unfulfilled if unfulfilled is not None else {"A": 1, "B": 2}
    return {
        "orderId": "171-0000001-0000001",
        "fulfillment": {"fulfillmentStatus": status},
        "packages": [{"packageReferenceId": str(p)} for p in packages],
        "orderItems": [
            {"orderItemId": item_id, "fulfillment": {"quantityUnfulfilled": qty}}
            for item_id, qty in unfulfilled.items()
        ],
    }


def test_already_confirmed_finds_our_package():
    raw = _order(packages=[7, 42])
    assert shipments.already_confirmed(raw, 42, [("A", 1)]) == shipments.PACKAGE_FOUND
    assert shipments.already_confirmed(raw, "7", [("A", 1)]) == shipments.PACKAGE_FOUND


def test_already_confirmed_when_items_are_shipped():
    assert shipments.already_confirmed(_order(status="SHIPPED"), 1, [("A", 1)]) == (
        shipments.ITEMS_SHIPPED
    )
    raw = _order(unfulfilled={"A": 0, "B": 2})
    assert shipments.already_confirmed(raw, 1, [("A", 1)]) == shipments.ITEMS_SHIPPED
    assert shipments.already_confirmed(raw, 1, [("A", 1), ("B", 1)]) is None


def test_not_confirmed_when_amazon_does_not_say():
    assert shipments.already_confirmed(_order(packages=[8]), 9, [("A", 1)]) is None
    raw = _order()
    raw["orderItems"][0].pop("fulfillment")
    assert shipments.already_confirmed(raw, 9, [("A", 1)]) is None
    assert shipments.already_confirmed({"orderItems": []}, 9, [("A", 1)]) is None


def test_confirm_shipment_resolves_carriers_like_the_odoo_side(sandbox):
    """The client sends what resolve_carrier says (one place for the rule)."""
    from test_client import _ship, an_unshipped_mfn_order, make_client

    with make_client(sandbox) as client:
        order = an_unshipped_mfn_order(client, sandbox, min_units=1)
        items = [(order.items[0].item_id, 1)]
        _ship(client, order, "5", items, carrier_code="autoentrega")
        detail = sandbox.state.shipments(order.order_id)[-1]["packageDetail"]
        assert detail["carrierCode"] == const.CARRIER_SELF_DELIVERY
        assert "carrierName" not in detail
        with pytest.raises(carriers.InvalidTrackingRef):
            client.confirm_shipment(
                order.order_id,
                marketplace_id=order.marketplace_id,
                package_reference_id=6,
                carrier_code="DHL",
                tracking_number="   ",
                ship_date=order.purchase_date,
                items=items,
            )
        assert len(sandbox.state.shipments(order.order_id)) == 1


def test_sandbox_fault_400_rejects_without_processing(sandbox):
    from test_client import _ship, an_unshipped_mfn_order, make_client

    from amazon_sp import errors

    with make_client(sandbox) as client:
        order = an_unshipped_mfn_order(client, sandbox, min_units=1)
        sandbox.faults.add(operation="confirmShipment", kind="400", count=1)
        with pytest.raises(errors.SpApiBadRequestError) as info:
            _ship(client, order, "3", [(order.items[0].item_id, 1)])
        assert not info.value.outcome_unknown
        assert "rejected" in str(info.value)
        assert sandbox.state.shipments(order.order_id) == []
