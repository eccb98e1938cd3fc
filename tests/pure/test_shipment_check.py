"""The resend check of a shipment confirmation whose answer was lost: over every
combination of what Amazon may show, a resend is allowed only when nothing at all points
to the shipment being on Amazon already, whatever order the checks run in."""

import itertools

import pytest

from amazon_sp import shipments

WANTED = [("A", 2), ("B", 1)]
OUR_REF, OUR_TRACKING = "31", "JJD0031"

PACKAGES = {
    "none": [],
    "ours by reference": [("31", "JJD0031", [("A", 2), ("B", 1)])],
    "ours renamed": [("AMZ-1", "jjd 0031", [("A", 2), ("B", 1)])],
    "our tracking, other items": [("AMZ-1", "JJD0031", [("A", 1)])],
    "our items, other tracking": [("AMZ-1", "XYZ9", [("A", 2), ("B", 1)])],
    "some of our items elsewhere": [("AMZ-1", "XYZ9", [("A", 1)])],
}
STATUSES = ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED")
UNFULFILLED = {
    "unknown": None,
    "all left": {"A": 3, "B": 1},
    "exactly ours left": {"A": 2, "B": 1},
    "none left": {"A": 0, "B": 0},
    "fewer A left": {"A": 1, "B": 1},
    "B gone": {"A": 2, "B": 0},
}


def _raw(packages, status, unfulfilled):
    items = []
    for item_id in ("A", "B"):
        item = {"orderItemId": item_id}
        if unfulfilled is not None:
            item["fulfillment"] = {"quantityUnfulfilled": unfulfilled[item_id]}
        items.append(item)
    return {
        "fulfillment": {"fulfillmentStatus": status},
        "orderItems": items,
        "packages": [
            {
                "packageReferenceId": ref,
                "trackingNumber": tracking,
                "packageItems": [{"orderItemId": i, "quantity": q} for i, q in contents],
            }
            for ref, tracking, contents in packages
        ],
    }


def _evidence(packages, status, unfulfilled):
    """Whether anything Amazon shows says the shipment may already be there."""
    wanted = dict(WANTED)
    tracking = OUR_TRACKING.replace(" ", "").upper()
    in_packages = {}
    for ref, number, contents in packages:
        if ref == OUR_REF or number.replace(" ", "").upper() == tracking:
            return True
        for item_id, qty in contents:
            in_packages[item_id] = in_packages.get(item_id, 0) + qty
    if status == "SHIPPED":
        return True
    if unfulfilled is not None:
        left = [unfulfilled[i] for i in wanted]
        if all(n == 0 for n in left) or any(0 < unfulfilled[i] < q for i, q in wanted.items()):
            return True
    short = unfulfilled is None or any(unfulfilled[i] < q for i, q in wanted.items())
    return all(in_packages.get(i, 0) >= q for i, q in wanted.items()) and short


@pytest.mark.parametrize(
    "packages,status,unfulfilled",
    list(itertools.product(PACKAGES, STATUSES, UNFULFILLED)),
)
def test_a_resend_only_without_any_evidence_of_the_shipment(packages, status, unfulfilled):
    raw = _raw(PACKAGES[packages], status, UNFULFILLED[unfulfilled])
    check = shipments.check_shipment(raw, OUR_REF, WANTED, OUR_TRACKING)
    evidence = _evidence(PACKAGES[packages], status, UNFULFILLED[unfulfilled])
    assert check.may_send is not evidence, (check, packages, status, unfulfilled)
    if not check.may_send:
        assert check.reason
    if packages in ("ours by reference", "ours renamed"):
        assert check.verdict == shipments.PACKAGE_FOUND


def test_a_tracking_conflict_on_a_shipped_order_is_unsure_not_shipped():
    """The order's SHIPPED status comes after the tracking conflict: both mean "do not
    send", but only the conflict tells the user that our tracking number is on other items."""
    raw = _raw(PACKAGES["our tracking, other items"], "SHIPPED", {"A": 0, "B": 0})
    check = shipments.check_shipment(raw, OUR_REF, WANTED, OUR_TRACKING)
    assert check.verdict == shipments.UNSURE
    assert "JJD0031" in check.reason
    plain = _raw([], "SHIPPED", None)
    assert shipments.check_shipment(plain, OUR_REF, WANTED, OUR_TRACKING).verdict == (
        shipments.ITEMS_SHIPPED
    )
