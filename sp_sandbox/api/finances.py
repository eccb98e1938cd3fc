"""Finances API v0: financial event groups and their events (derived in ``sp_sandbox.finances``).

Every list pages by offset; the token pins the window, the page size and, for events, the
group or the order. ``listFinancialEvents`` answers nothing for a window over 180 days (as
Amazon documents); ``listFinancialEventsByOrderId`` answers an empty list for an order it
does not know (Amazon does the same for orders without events yet).
"""

from datetime import timedelta

from .. import finances
from ..values import format_time
from .common import Operation, int_arg, invalid, latest_allowed, time_arg
from .pagination import cut, fingerprint

FINANCES = "financesV0"
GROUP_WINDOW = ("FinancialEventGroupStartedAfter", "FinancialEventGroupStartedBefore")


def _posted_window(state, request, after_name, before_name):
    limit = latest_allowed(state)
    after, before = time_arg(request, after_name), time_arg(request, before_name)
    for name, value in ((after_name, after), (before_name, before)):
        if value is not None and value > limit:
            raise invalid(
                f"{name} must be more than two minutes before the time of the request.",
                f"Latest allowed: {format_time(limit)}.",
            )
    if after is not None and before is not None and before <= after:
        raise invalid(f"{before_name} must be after {after_name}.")
    return after, before


def _within(when, query):
    return (query["after"] is None or when >= query["after"]) and (
        query["before"] is None or when < query["before"]
    )


PAGE_FREE = ("MaxResultsPerPage",)


def list_financial_event_groups(app, request, elements):
    query = app.pages.resume(request, "NextToken", "groups", exempt=PAGE_FREE)
    if query is None:
        after, before = _posted_window(
            app.state,
            request,
            "FinancialEventGroupStartedAfter",
            "FinancialEventGroupStartedBefore",
        )
        size = int_arg(request, "MaxResultsPerPage", 1, 100, 10)
        query = {
            "after": after,
            "before": before,
            "offset": 0,
            "size": size,
            "filters": fingerprint(request, "NextToken", PAGE_FREE),
        }
    groups = [g for g in app.state.finance_groups().values() if _within(g["start"], query)]
    page, more = cut(groups, query["size"], query["offset"])
    payload = {"FinancialEventGroupList": [finances.render_group(g) for g in page]}
    if more:
        next_offset = query["offset"] + query["size"]
        payload["NextToken"] = app.pages.issue("groups", **{**query, "offset": next_offset})
    return 200, {"payload": payload}


def list_financial_events_by_group_id(app, request, elements, group_id):
    query = app.pages.resume(request, "NextToken", "events", exempt=PAGE_FREE, group=group_id)
    if query is None:
        after, before = _posted_window(app.state, request, "PostedAfter", "PostedBefore")
        if before is not None and after is None:
            raise invalid("PostedAfter is required when PostedBefore is set.")
        size = int_arg(request, "MaxResultsPerPage", 1, 100, 100)
        query = {
            "group": group_id,
            "after": after,
            "before": before,
            "offset": 0,
            "size": size,
            "filters": fingerprint(request, "NextToken", PAGE_FREE),
        }
    group = app.state.finance_groups().get(group_id)
    rows = [row for row in (group["events"] if group else []) if _within(row[0], query)]
    page, more = cut(rows, query["size"], query["offset"])
    payload = {"FinancialEvents": finances.render_events(page)}
    if more:
        next_offset = query["offset"] + query["size"]
        payload["NextToken"] = app.pages.issue("events", **{**query, "offset": next_offset})
    return 200, {"payload": payload}


def _event_page(app, request, kind, rows, scope, default_before=None):
    """One page of ``rows`` [(time, list name, event)] in the request's posted window."""
    query = app.pages.resume(request, "NextToken", kind, exempt=PAGE_FREE, **scope)
    if query is None:
        after, before = _posted_window(app.state, request, "PostedAfter", "PostedBefore")
        if before is None:
            before = default_before
        size = int_arg(request, "MaxResultsPerPage", 1, 100, 100)
        query = {
            **scope,
            "after": after,
            "before": before,
            "offset": 0,
            "size": size,
            "filters": fingerprint(request, "NextToken", PAGE_FREE),
        }
    if query["after"] and query["before"] and query["before"] - query["after"] > timedelta(180):
        rows = []
    rows = [row for row in rows if _within(row[0], query)]
    page, more = cut(rows, query["size"], query["offset"])
    payload = {"FinancialEvents": finances.render_events(page)}
    if more:
        next_offset = query["offset"] + query["size"]
        payload["NextToken"] = app.pages.issue(kind, **{**query, "offset": next_offset})
    return 200, {"payload": payload}


def list_financial_events_by_order_id(app, request, elements, order_id):
    rows = app.state.order_finance_rows(order_id) if order_id in app.state.orders else []
    return _event_page(app, request, "order-events", rows, {"order": order_id})


def list_financial_events(app, request, elements):
    rows = sorted(
        (row for group in app.state.finance_groups().values() for row in group["events"]),
        key=lambda row: (row[0], row[1]),
    )
    return _event_page(app, request, "all-events", rows, {}, latest_allowed(app.state))


_GROUPS = "/finances/v0/financialEventGroups"
ROUTES = [
    Operation(_GROUPS, "GET", FINANCES, "listFinancialEventGroups", list_financial_event_groups),
    Operation(
        f"{_GROUPS}/<group_id>/financialEvents",
        "GET",
        FINANCES,
        "listFinancialEventsByGroupId",
        list_financial_events_by_group_id,
    ),
    Operation(
        "/finances/v0/orders/<order_id>/financialEvents",
        "GET",
        FINANCES,
        "listFinancialEventsByOrderId",
        list_financial_events_by_order_id,
    ),
    Operation(
        "/finances/v0/financialEvents",
        "GET",
        FINANCES,
        "listFinancialEvents",
        list_financial_events,
    ),
]
