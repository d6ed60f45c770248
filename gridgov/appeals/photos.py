"""Photo checks: JPEG or PNG only, at most 8 MB, re-encoded so EXIF (GPS included) is gone."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from gridgov.core.errors import ValidationFailed

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTOS = 9
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}


@dataclass
class CleanPhoto:
    content: ContentFile
    content_type: str
    size: int


def _read(upload: Any) -> tuple[bytes, str]:
    if isinstance(upload, bytes | bytearray):
        return bytes(upload), "photo"
    name = getattr(upload, "name", "photo") or "photo"
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_PHOTO_BYTES:
        raise ValidationFailed(_("照片 %(name)s 超过 8 MB") % {"name": name}, field="photos")
    if hasattr(upload, "seek"):
        upload.seek(0)
    return upload.read(), name


def clean_photo(upload: Any) -> CleanPhoto:
    """Check one uploaded photo and return a copy without metadata.

    Raises ValidationFailed (field ``photos``) for anything but a readable JPEG/PNG ≤ 8 MB.
    """
    data, name = _read(upload)
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationFailed(_("照片 %(name)s 超过 8 MB") % {"name": name}, field="photos")
    try:
        image = Image.open(io.BytesIO(data))
        fmt = image.format
        if fmt not in FORMATS:
            raise ValidationFailed(
                _("照片 %(name)s 须为 JPEG 或 PNG 格式") % {"name": name}, field="photos"
            )
        image.load()
        # Keep the picture the right way up, then drop every metadata block.
        image = ImageOps.exif_transpose(image)
        out = io.BytesIO()
        if fmt == "JPEG":
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            image.save(out, format="JPEG", quality=90)
        else:
            image.save(out, format="PNG")
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValidationFailed(
            _("照片 %(name)s 无法识别，须为 JPEG 或 PNG 格式") % {"name": name}, field="photos"
        ) from exc
    content_type, ext = FORMATS[fmt]
    body = out.getvalue()
    return CleanPhoto(
        content=ContentFile(body, name=f"photo.{ext}"), content_type=content_type, size=len(body)
    )


def clean_photos(uploads: Any) -> list[CleanPhoto]:
    uploads = list(uploads or ())
    if len(uploads) > MAX_PHOTOS:
        raise ValidationFailed(_("照片最多 %(count)s 张") % {"count": MAX_PHOTOS}, field="photos")
    return [clean_photo(u) for u in uploads]
