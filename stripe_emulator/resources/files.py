"""Files: uploads (multipart/form-data, as the SDK sends them to the files
base URL) for dispute evidence and the like; retrievable, listable, and their
contents downloadable from `url`.

The uploaded bytes are kept in the store's private part (base64), never in
the object the API returns, as Stripe keeps them behind `/contents`.
"""

import base64
import mimetypes
from email.parser import BytesParser
from email.policy import HTTP

from .. import fixtures
from ..responses import Response
from ..wire import StripeError, as_str, invalid, missing
from .common import eq_filter, render, render_list

PURPOSES = ("account_requirement", "additional_verification", "business_icon", "business_logo",
            "customer_signature", "dispute_evidence", "identity_document", "issuing_regulatory_reporting",
            "pci_document", "tax_document_user_upload", "terminal_reader_splashscreen")
# Stripe's limits for dispute evidence: PDF, JPEG or PNG, at most 5 MB.
MAX_BYTES = 5 * 1024 * 1024
TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
         "csv": "text/csv", "txt": "text/plain"}


def parse_multipart(body, content_type):
    """A multipart/form-data body -> params. Text fields become strings; a
    file part becomes {"filename", "content_type", "data" (base64)} so the
    params stay JSON (the idempotency cache fingerprints them)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body)
    if not message.is_multipart():
        raise ValueError("not a multipart body")
    params = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = {"filename": filename, "content_type": part.get_content_type(),
                            "data": base64.b64encode(payload).decode("ascii")}
        else:
            params[name] = payload.decode(part.get_content_charset() or "utf-8")
    return params


def _file_type(filename, data):
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    ext = (filename.rsplit(".", 1)[-1].lower() if "." in filename else "")
    return ext if ext in TYPES else None


def create(req):
    store, params = req.store, req.params
    purpose = as_str(params, "purpose", required=True, choices=PURPOSES)
    upload = params.get("file")
    if upload in (None, ""):
        raise missing("file")
    if not isinstance(upload, dict) or "data" not in upload:
        raise invalid("Invalid file: must be uploaded as multipart/form-data.", param="file")
    data = base64.b64decode(upload["data"])
    if not data:
        raise invalid("The file you uploaded is empty.", param="file")
    if len(data) > MAX_BYTES:
        raise invalid("The file you uploaded is too large (maximum 5 MB).", param="file",
                      code="file_too_large")
    type_ = _file_type(upload.get("filename") or "", data)
    if purpose == "dispute_evidence" and type_ not in ("pdf", "jpg", "jpeg", "png"):
        raise invalid("Dispute evidence must be a PDF, JPEG or PNG file.", param="file",
                      code="invalid_file_type")
    id_ = store.new_id("file_")
    filename = upload.get("filename") or id_
    base = (req.app.public_url or "").rstrip("/")
    file_ = fixtures.make(
        "file",
        id=id_,
        created=store.now(),
        expires_at=None,
        filename=filename,
        links={"object": "list", "data": [], "has_more": False, "url": f"/v1/file_links?file={id_}"},
        purpose=purpose,
        size=len(data),
        title=None,
        type=type_,
        url=f"{base}/v1/files/{id_}/contents",
    )
    store.add(file_, private={"data": upload["data"],
                              "content_type": TYPES.get(type_) or mimetypes.guess_type(filename)[0]
                              or "application/octet-stream"})
    req.emit("file.created", file_)
    return render(req, file_)


def retrieve(req):
    return render(req, req.store.require(req.args["id"], "file"))


def contents(req):
    file_ = req.store.require(req.args["id"], "file")
    secret = req.store.private.get(file_["id"]) or {}
    if "data" not in secret:
        raise StripeError(404, "invalid_request_error", "This file has no contents.", code="resource_missing")
    return _Bytes(200, base64.b64decode(secret["data"]),
                  {"Content-Disposition": f'attachment; filename="{file_["filename"]}"'},
                  secret.get("content_type") or "application/octet-stream")


class _Bytes(Response):
    """A response whose body is raw bytes (a file's contents)."""

    def encode(self):
        return self.body or b""


def list_(req):
    return render_list(req, "file", "/v1/files", [eq_filter(req, "purpose")])


def require_file(store, file_id, purpose, param):
    """A stored file of `purpose` (e.g. for dispute evidence), or Stripe's error."""
    file_ = store.get(file_id, "file") if isinstance(file_id, str) else None
    if file_ is None:
        raise invalid(f"No such file upload: '{file_id}'", param=param, code="resource_missing")
    if file_["purpose"] != purpose:
        raise invalid(f"The file {file_id} was uploaded with purpose `{file_['purpose']}`; "
                      f"it cannot be used as {purpose.replace('_', ' ')}.", param=param)
    return file_


ROUTES = [
    ("POST", "/v1/files", create),
    ("GET", "/v1/files", list_),
    ("GET", "/v1/files/{id}", retrieve),
    ("GET", "/v1/files/{id}/contents", contents),
]
