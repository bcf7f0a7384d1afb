"""Streaming a finished report from its store, the same response for the API and the browser."""

from __future__ import annotations

from flask import send_file

from workers.artifacts import MEDIA_TYPES
from workers.storage import StoredFile


def artifact_response(stored: StoredFile, name: str, manifest: dict):
    """The file as an attachment with its media type, its sha256 as ETag and X-Content-SHA256.

    A file on disk goes by path (ranges, sendfile); one from object storage is streamed as it arrives, never
    held whole in memory, and its connection is given back when the response closes.
    """
    response = send_file(stored.path if stored.path is not None else stored.stream,
                         mimetype=MEDIA_TYPES[manifest["format"]], as_attachment=True, download_name=name,
                         etag=manifest.get("sha256"), max_age=0, last_modified=stored.last_modified)
    if stored.path is None:
        if response.status_code == 200:
            response.content_length = stored.size
        response.call_on_close(stored.close)
    response.headers["X-Content-SHA256"] = manifest.get("sha256", "")
    return response
