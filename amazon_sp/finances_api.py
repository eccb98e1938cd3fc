"""Finances API v0, typed: settlements (financial event groups and their events) and
refunds.

``client.finances`` (a :class:`FinancesApi`)::

    groups = client.finances.list_financial_event_groups(started_after=since)
    events = client.finances.list_financial_events_by_group_id(group.group_id)
    for payload, token in client.finances.group_event_pages(group.group_id, token=None):
        ...  # keep the page; stop and go on later from ``token``
    refunds = client.finances.list_refunds(posted_after, posted_before)
    refunds = client.finances.list_order_refunds(order_id)

Every page is followed (``NextToken``); the JSON is read by :mod:`.finances` and
:mod:`.refunds`.
"""

from __future__ import annotations

from . import errors, finances, refunds
from .parsing import format_datetime


class FinancesApi:
    """The Finances API v0 on one :class:`~.client.SpApiClient` (same thread rules)."""

    def __init__(self, client):
        self._client = client

    def __repr__(self):
        return f"FinancesApi({self._client!r})"

    def list_financial_event_groups(self, started_after=None, started_before=None, page_size=100):
        """All financial event groups opened in [started_after, started_before), every
        page followed: a list of :class:`.finances.FinancialEventGroup` (open ones too)."""
        params = {"MaxResultsPerPage": int(page_size)}
        if started_after is not None:
            params["FinancialEventGroupStartedAfter"] = format_datetime(started_after)
        if started_before is not None:
            params["FinancialEventGroupStartedBefore"] = format_datetime(started_before)
        pages = self._pages(
            "listFinancialEventGroups",
            self._client._finances.list_financial_event_groups,
            params,
            finances.parse_financial_event_groups,
        )
        return [group for groups, _payload, _token in pages for group in groups]

    def list_financial_events_by_group_id(self, group_id, page_size=100):
        """Every event of one group (all pages) folded into :class:`.finances.GroupEvents`."""
        result = finances.GroupEvents()
        for _events, _payload, _token in self._group_event_pages(group_id, None, page_size, result):
            pass
        return result

    def group_event_pages(self, group_id, token=None, page_size=100):
        """The events of one group page by page from ``token`` (None: the first page):
        yields (the page's ``payload`` object as Amazon sent it, its NextToken or None), so
        that a caller can keep the pages read and go on later from the token (a busy
        seller's group is thousands of events, hundreds of pages at 0.5 requests/s).

        Each page is checked as it is read (parsed into throwaway totals): a page yielded
        folds with :func:`.finances.parse_financial_events`; a malformed one raises
        :class:`~.errors.SpApiResponseError`."""
        pages = self._group_event_pages(group_id, token, page_size, None)
        return ((payload, next_token) for _events, payload, next_token in pages)

    def _group_event_pages(self, group_id, token, page_size, result):
        """Pages of one group, each folded into ``result`` (None: throwaway totals)."""
        if not group_id:
            raise ValueError("group_id is required")
        return self._pages(
            "listFinancialEventsByGroupId",
            self._client._finances.list_financial_events_by_group_id,
            {"MaxResultsPerPage": int(page_size)},
            lambda payload: finances.parse_financial_events([payload], result),
            group_id,
            token=token,
            context=f"group {group_id}: ",
        )

    def list_refunds(self, posted_after, posted_before=None, page_size=100):
        """The refunds (:class:`.refunds.RefundEvent`) posted in [posted_after,
        posted_before), every page of ``listFinancialEvents`` followed (Amazon may answer
        empty pages with a NextToken: they are followed too)."""
        pages = self.refund_pages(posted_after, posted_before, page_size=page_size)
        return [event for events, _token in pages for event in events]

    def refund_pages(self, posted_after, posted_before=None, token=None, page_size=100):
        """The same, page by page from ``token`` (None: the first page): yields (the page's
        refunds, its NextToken or None), so that a caller can stop between pages and go on
        later from the token (financial events include every shipment: a busy month is
        hundreds of pages)."""
        params = {"MaxResultsPerPage": int(page_size), "PostedAfter": format_datetime(posted_after)}
        if posted_before is not None:
            params["PostedBefore"] = format_datetime(posted_before)
        pages = self._pages(
            "listFinancialEvents",
            self._client._finances.list_financial_events,
            params,
            refunds.parse_refund_events,
            token=token,
        )
        return ((events, next_token) for events, _payload, next_token in pages)

    def list_order_refunds(self, order_id, page_size=100):
        """The refunds of one order (``listFinancialEventsByOrderId``, every page)."""
        if not order_id:
            raise ValueError("order_id is required")
        pages = self._pages(
            "listFinancialEventsByOrderId",
            self._client._finances.get_financial_events_for_order,
            {"MaxResultsPerPage": int(page_size)},
            refunds.parse_refund_events,
            order_id,
        )
        return [event for events, _payload, _token in pages for event in events]

    def _pages(self, operation, method, params, parse, *args, token=None, context=""):
        """Follow the NextToken pages of ``operation`` from ``token`` (None: the first):
        yields (``parse(payload)``, the page's payload, its NextToken or None). A page that
        does not parse raises :class:`~.errors.SpApiResponseError` (``context`` first)."""
        client = self._client
        while True:
            query = dict(params, NextToken=token) if token else dict(params)
            response = client._call(client._finances, operation, method, *args, **query)
            payload = _finance_payload(response, operation)
            try:
                parsed = parse(payload)
            except finances.FinanceParseError as exc:
                raise errors.SpApiResponseError(
                    f"{context}{exc}", operation=operation, request_id=response.request_id
                ) from None
            token = payload.get("NextToken") or None
            yield parsed, payload, token
            if not token:
                return


def _finance_payload(response, operation):
    payload = response.body.get("payload")
    if not isinstance(payload, dict):
        raise errors.SpApiResponseError(
            "missing required field 'payload'",
            operation=operation,
            request_id=response.request_id,
        )
    return payload
