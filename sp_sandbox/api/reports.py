"""Reports API 2021-06-30: the FBA customer returns report (``fba.py``).

A report goes IN_QUEUE -> IN_PROGRESS -> DONE on the virtual clock (durations divided by the
speed); the first read that finds it done produces its document, a GZIP-compressed
tab-separated file served at a presigned-style URL (``/_docs/<id>``). A report without any
return is CANCELLED, as Amazon does when there is no data. Other report types are refused.
"""

import gzip
from datetime import timedelta

from .. import fba
from ..values import format_time, parse_time
from .common import ApiError, Operation, invalid, known_marketplaces
from .feeds import _doc_url, _new_document
from .inventory import INVENTORY, get_inventory_summaries

REPORTS = "reports_2021-06-30"
CUSTOMER_RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
SUPPORTED = (CUSTOMER_RETURNS,)
QUEUE_SECONDS = 20.0  # virtual seconds IN_QUEUE (divided by speed)
PROCESS_SECONDS = 40.0  # virtual seconds IN_PROGRESS (divided by speed)
CONTENT_TYPE = "text/tab-separated-values; charset=UTF-8"


def _time(body, key, default):
    if not body.get(key):
        return default
    try:
        return parse_time(body[key])
    except ValueError:
        raise invalid(f"Invalid {key}.") from None


def create_report(app, request, elements):
    state = app.state
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise invalid("The request body is not a valid JSON object.")
    if body.get("reportType") not in SUPPORTED:
        raise invalid(
            f"Invalid reportType {body.get('reportType')!r}.",
            f"The sandbox produces {', '.join(SUPPORTED)} only.",
        )
    known_marketplaces(state, body.get("marketplaceIds") or [])
    now = state.now()
    end = _time(body, "dataEndTime", now)
    start = _time(body, "dataStartTime", end - timedelta(days=30))
    if end > now or start > end:
        raise invalid(
            "Invalid dataStartTime/dataEndTime.",
            "The range must end no later than now and start before it ends.",
        )
    report_id = state.new_id(11)
    state.reports[report_id] = {
        "reportId": report_id,
        "reportType": body["reportType"],
        "marketplaceIds": list(body["marketplaceIds"]),
        "start": start,
        "end": end,
        "created": now,
        "processingStatus": "IN_QUEUE",
        "document": None,
    }
    return 202, {"reportId": report_id}


def _status(state, report):
    if report["processingStatus"] in ("DONE", "CANCELLED", "FATAL"):
        return report["processingStatus"]
    elapsed = state.now() - report["created"]
    if elapsed >= timedelta(seconds=(QUEUE_SECONDS + PROCESS_SECONDS) / state.speed):
        rows = fba.returns_between(state, report["start"], report["end"], report["marketplaceIds"])
        if rows:
            raw = gzip.compress(fba.returns_document(state, rows).encode())
            report["document"] = _new_document(state, CONTENT_TYPE, raw, "GZIP")
            report["processingStatus"] = "DONE"
        else:
            report["processingStatus"] = "CANCELLED"
        report["ended"] = state.now()
        return report["processingStatus"]
    if elapsed >= timedelta(seconds=QUEUE_SECONDS / state.speed):
        return "IN_PROGRESS"
    return "IN_QUEUE"


def get_report(app, request, elements, report_id):
    state = app.state
    report = state.reports.get(report_id)
    if report is None:
        raise ApiError(404, "NotFound", "The requested report was not found.", report_id)
    status = _status(state, report)
    result = {
        "reportId": report_id,
        "reportType": report["reportType"],
        "marketplaceIds": report["marketplaceIds"],
        "dataStartTime": format_time(report["start"]),
        "dataEndTime": format_time(report["end"]),
        "createdTime": format_time(report["created"]),
        "processingStatus": status,
    }
    if status != "IN_QUEUE":
        queued = timedelta(seconds=QUEUE_SECONDS / state.speed)
        result["processingStartTime"] = format_time(report["created"] + queued)
    if report.get("ended"):
        result["processingEndTime"] = format_time(report["ended"])
    if report["document"]:
        result["reportDocumentId"] = report["document"]
    return 200, result


def get_report_document(app, request, elements, document_id):
    document = app.state.documents.get(document_id)
    if document is None or not any(
        r["document"] == document_id for r in app.state.reports.values()
    ):
        raise ApiError(404, "NotFound", "The requested report document was not found.")
    result = {"reportDocumentId": document_id, "url": _doc_url(app, request, document_id)}
    if document.get("compression"):
        result["compressionAlgorithm"] = document["compression"]
    return 200, result


_REPORTS = "/reports/2021-06-30"
ROUTES = [
    Operation(
        "/fba/inventory/v1/summaries",
        "GET",
        INVENTORY,
        "getInventorySummaries",
        get_inventory_summaries,
    ),
    Operation(f"{_REPORTS}/reports", "POST", REPORTS, "createReport", create_report),
    Operation(f"{_REPORTS}/reports/<report_id>", "GET", REPORTS, "getReport", get_report),
    Operation(
        f"{_REPORTS}/documents/<document_id>",
        "GET",
        REPORTS,
        "getReportDocument",
        get_report_document,
    ),
]
