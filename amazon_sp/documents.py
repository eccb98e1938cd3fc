"""Downloading the documents the SP-API points at (feed processing reports, reports,
settlement reports...): presigned URLs on Amazon's document storage.

A URL comes from an API answer, so it is checked before anything is sent to it, and what
comes back is bounded::

    limits = documents.DocumentLimits.for_endpoint(client.config.endpoint)
    content = documents.fetch_document(http, url, "GZIP", limits, operation="getReport")

* https only, to Amazon's document storage hosts (``DOCUMENT_HOSTS``: the "tortuga"
  buckets of Amazon S3, e.g. ``tortuga-prod-na.s3.amazonaws.com`` or
  ``tortuga-prod-eu.s3-eu-west-1.amazonaws.com``); ``http`` or ``https`` to this machine's
  loopback only when the limits allow a sandbox (``allow_loopback``:
  :meth:`DocumentLimits.for_endpoint` allows it exactly when the client's own SP-API
  endpoint is on loopback, which the Odoo side accepts only when its sandbox system
  parameter is on);
* no redirect is followed (a presigned URL answers itself);
* the body is streamed: at most ``max_compressed`` bytes are read off the wire, and GZIP
  (``compression`` "GZIP", or a ``Content-Encoding: gzip`` answer) is undone
  incrementally with at most ``max_uncompressed`` bytes out, so a gzip bomb stops at the
  cap instead of filling the memory.

Anything refused raises :class:`DocumentRefusedError` (an ``SpApiError``, not retried): the
caller gets the whole document or an error, never a part of it. Storage errors raise
``SpApiServerError`` (5xx) / ``SpApiTransportError`` (network), which callers may retry.
"""

from __future__ import annotations

import ipaddress
import re
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from . import errors

# Amazon's document storage: the "tortuga" buckets, virtual-hosted on any S3 endpoint name.
DOCUMENT_HOSTS = (re.compile(r"tortuga-prod-[a-z0-9-]+\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com"),)
MiB = 1024 * 1024
CHUNK = 64 * 1024


class DocumentRefusedError(errors.SpApiError):
    """A document URL or body the client will not accept (host, scheme, size, encoding)."""

    default_summary = "document refused"


class DocumentEncodingError(DocumentRefusedError):
    """The body is not what its compression says (broken or truncated GZIP)."""

    default_summary = "document is not valid GZIP"


@dataclass(frozen=True)
class DocumentLimits:
    """What :func:`fetch_document` accepts."""

    max_compressed: int = 64 * MiB  # bytes read off the wire
    max_uncompressed: int = 256 * MiB  # bytes after GZIP is undone
    allow_loopback: bool = False  # a sandbox on this machine (tests, demonstrations)
    hosts: tuple = DOCUMENT_HOSTS  # compiled patterns, matched against the whole host

    @classmethod
    def for_endpoint(cls, endpoint, **overrides):
        """The default limits of a client whose SP-API base URL is ``endpoint``: loopback
        documents are accepted only when that endpoint is on loopback (a sandbox)."""
        host = (urlsplit(endpoint or "").hostname or "").lower()
        return cls(**{"allow_loopback": is_loopback(host), **overrides})


def is_loopback(host):
    """Whether ``host`` (a URL's host name) is this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url, limits, operation=None):
    """Raise :class:`DocumentRefusedError` unless ``url`` may be requested under ``limits``."""
    try:
        parts = urlsplit(url or "")
        port = parts.port
    except ValueError:
        parts, port = None, None
    host = ((parts and parts.hostname) or "").lower()
    if parts is None or not host or parts.username or parts.password:
        raise DocumentRefusedError("document URL is not a plain URL", operation=operation)
    if is_loopback(host):
        if limits.allow_loopback and parts.scheme in ("http", "https"):
            return
        raise DocumentRefusedError(
            f"document URL on loopback ({host}) while the client is not set up for a sandbox",
            operation=operation,
        )
    if parts.scheme != "https" or port not in (None, 443):
        raise DocumentRefusedError(
            f"document URL must be https:// on the default port, got {parts.scheme}://{host}",
            operation=operation,
        )
    if not any(pattern.fullmatch(host) for pattern in limits.hosts):
        raise DocumentRefusedError(
            f"document host {host} is not Amazon's document storage", operation=operation
        )


def fetch_document(session, url, compression=None, limits=None, operation="downloadDocument"):
    """GET the document at ``url`` with the ``httpx.Client`` ``session``, GZIP undone
    when ``compression`` (Amazon's ``compressionAlgorithm``) says "GZIP".

    One attempt; the caller retries ``SpApiServerError``/``SpApiTransportError`` if it wants.

    :return: the document's bytes, whole
    :raise DocumentRefusedError: refused URL, oversized body, unknown compression;
        :class:`DocumentEncodingError` (a subclass): broken GZIP
    :raise errors.SpApiError: the storage answered 3xx/4xx
    :raise errors.SpApiServerError: the storage answered 5xx
    :raise errors.SpApiTransportError: network failure
    """
    limits = limits or DocumentLimits()
    check_url(url, limits, operation)
    algorithm = (compression or "").upper()
    if algorithm not in ("", "GZIP"):
        raise DocumentRefusedError(
            f"unknown compression algorithm {compression!r}", operation=operation
        )
    try:
        with session.stream("GET", url, follow_redirects=False) as response:
            status = response.status_code
            if status >= 500:
                raise errors.SpApiServerError(
                    "document storage error", status=status, operation=operation
                )
            if status >= 300:
                raise errors.SpApiError(
                    "document storage refused the request", status=status, operation=operation
                )
            encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
            if encoding not in ("identity", "", "gzip", "x-gzip"):
                raise DocumentRefusedError(
                    f"unknown Content-Encoding {encoding!r}", operation=operation
                )
            gzipped = algorithm == "GZIP" or encoding in ("gzip", "x-gzip")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limits.max_compressed:
                raise _too_big("document", limits.max_compressed, operation)
            return _read(response.iter_raw(CHUNK), gzipped, limits, operation)
    except httpx.HTTPError as exc:
        raise errors.SpApiTransportError(
            f"{type(exc).__name__}: {exc}", operation=operation
        ) from None


def _read(chunks, gzipped, limits, operation):
    """The body from ``chunks``, capped, GZIP undone incrementally when ``gzipped``."""
    received = 0
    out = bytearray()
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    for chunk in chunks:
        received += len(chunk)
        if received > limits.max_compressed:
            raise _too_big("document", limits.max_compressed, operation)
        if inflater is None:
            out += chunk
            continue
        _inflate(inflater, chunk, out, limits, operation)
    if inflater is not None and not inflater.eof:
        raise DocumentEncodingError("document is not valid GZIP: truncated", operation=operation)
    return bytes(out)


def _inflate(inflater, data, out, limits, operation):
    """Feed ``data`` to ``inflater`` appending to ``out``, never past the uncompressed cap
    (``max_length`` bounds each step; input not consumed yet waits in ``unconsumed_tail``,
    so a bomb never expands beyond the cap in memory)."""
    try:
        while data and not inflater.eof:
            piece = inflater.decompress(data, limits.max_uncompressed - len(out) + 1)
            out += piece
            if len(out) > limits.max_uncompressed:
                raise _too_big("uncompressed document", limits.max_uncompressed, operation)
            data = inflater.unconsumed_tail
    except zlib.error as exc:
        raise DocumentEncodingError(
            f"document is not valid GZIP: {exc}", operation=operation
        ) from None


def _too_big(what, limit, operation):
    return DocumentRefusedError(
        f"{what} is larger than the {limit // MiB if limit >= MiB else limit} "
        f"{'MiB' if limit >= MiB else 'bytes'} allowed",
        operation=operation,
    )
