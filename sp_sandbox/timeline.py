"""An order's timeline: what one scenario order looks like at a given virtual time.

A record holds its events (status changes, shipped and cancelled quantities) in time order;
``view_at`` replays them up to a time. The state and the finances both read orders this way.
"""


class OrderView:
    """One order as seen at a given time."""

    __slots__ = ("record", "status", "last_updated", "shipped", "cancelled", "packages")

    def __init__(self, record, status, last_updated, shipped, cancelled, packages):
        self.record = record
        self.status = status
        self.last_updated = last_updated
        self.shipped = shipped
        self.cancelled = cancelled
        self.packages = packages

    @property
    def order_id(self):
        return self.record["orderId"]

    def unshipped(self, item_id):
        item = next(i for i in self.record["items"] if i["orderItemId"] == item_id)
        return item["quantity"] - self.shipped[item_id] - self.cancelled[item_id]


def view_at(record, when):
    if record["createdTime"] > when:
        return None
    items = {i["orderItemId"]: i["quantity"] for i in record["items"]}
    shipped = dict.fromkeys(items, 0)
    cancelled = dict.fromkeys(items, 0)
    status = None
    last = record["createdTime"]
    for event_time, kind, payload in record["events"]:
        if event_time > when:
            break
        last = max(last, event_time)
        if kind == "status":
            status = payload
            if payload == "SHIPPED":
                for item_id, qty in items.items():
                    shipped[item_id] = qty - cancelled[item_id]
            elif payload == "CANCELLED":
                for item_id, qty in items.items():
                    cancelled[item_id] = qty - shipped[item_id]
        elif kind == "ship":
            shipped[payload[0]] += payload[1]
        elif kind == "cancel":
            cancelled[payload[0]] += payload[1]
    packages = [p for p in record["packages"] if p["time"] <= when]
    return OrderView(record, status or "PENDING", last, shipped, cancelled, packages)


def derive_status(view):
    total = sum(i["quantity"] for i in view.record["items"])
    shipped = sum(view.shipped.values())
    cancelled = sum(view.cancelled.values())
    if cancelled >= total:
        return "CANCELLED"
    if shipped + cancelled >= total:
        return "SHIPPED"
    if shipped:
        return "PARTIALLY_SHIPPED"
    return view.status
