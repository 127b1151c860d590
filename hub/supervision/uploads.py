"""Attachments of follow-ups: size and type limits, checked before anything is stored."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

from hub.errors import BadRequest
from hub.settings import SupervisionSettings

MAX_FILES = 10
# The first bytes a file of each type must start with, so a renamed executable is not let through as a PDF.
MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
}
TEXT_TYPES = ("text/plain", "text/csv")


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def clean_filename(name: str) -> str:
    """A file name without folders or control characters, at most 200 characters."""
    # Some clients (aiohttp's FormData among them) percent-encode non-ASCII file names; browsers send UTF-8.
    if "%" in name:
        name = unquote(name, errors="strict") if _decodes(name) else name
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return name[:200] or "attachment"


def _decodes(name: str) -> bool:
    try:
        unquote(name, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def check_uploads(uploads: list[Upload], settings: SupervisionSettings) -> list[Upload]:
    """The uploads, cleaned; 400 naming the attachment that is too large, of a refused type or not what it says."""
    if len(uploads) > MAX_FILES:
        raise BadRequest("too_many_attachments", f"at most {MAX_FILES} attachments", field="attachments")
    checked = []
    for index, upload in enumerate(uploads):
        where = f"attachments[{index}]"
        content_type = upload.content_type.split(";", 1)[0].strip().lower()
        if content_type not in settings.attachment_types:
            raise BadRequest(
                "attachment_type_not_allowed",
                f"{upload.filename}: {content_type or 'unknown type'} is not accepted "
                f"(allowed: {', '.join(settings.attachment_types)})",
                field=where,
            )
        if len(upload.data) > settings.attachment_max_bytes:
            raise BadRequest(
                "attachment_too_large",
                f"{upload.filename}: larger than {settings.attachment_max_bytes // 1048576 or 1} MB",
                field=where,
            )
        if not upload.data:
            raise BadRequest("attachment_empty", f"{upload.filename}: the file is empty", field=where)
        if content_type in MAGIC and not upload.data.startswith(MAGIC[content_type]):
            raise BadRequest("attachment_not_its_type", f"{upload.filename}: not a {content_type} file", field=where)
        if content_type in TEXT_TYPES:
            try:
                upload.data.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest("attachment_not_its_type", f"{upload.filename}: not UTF-8 text", field=where) from None
        checked.append(Upload(clean_filename(upload.filename), content_type, upload.data))
    return checked
