"""Avatar images: the format is sniffed from the bytes (never the filename or the client's
content type), bounded in bytes, sides and pixels, decoded in full, and re-encoded so nothing
of the upload but its pixels is stored (no EXIF, GPS, ICC profile, comments, trailing data).

A PNG named `.jpg` is accepted and stored as PNG; anything Pillow does not decode as PNG, JPEG
or WebP is refused. Decompression bombs: the sides are checked from the header before decoding,
and Pillow's own pixel guard (MAX_IMAGE_PIXELS, its warning raised as an error) backs that up.
"""

from __future__ import annotations

import io
import uuid
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from services.identity_errors import ImageDimensionsTooLarge, ImageTooLarge, InvalidImage

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 4096
# Pillow warns past this many pixels and refuses past twice as many.
Image.MAX_IMAGE_PIXELS = MAX_SIDE * MAX_SIDE

_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}


@dataclass(frozen=True, slots=True)
class CleanImage:
    data: bytes
    extension: str
    width: int
    height: int


def clean_image(data: bytes, *, field: str = "file") -> CleanImage:
    if len(data) > MAX_BYTES:
        raise ImageTooLarge(f"images may be at most {MAX_BYTES // (1024 * 1024)} MB", field=field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(_FORMATS)) as image:
                if image.width > MAX_SIDE or image.height > MAX_SIDE:
                    raise ImageDimensionsTooLarge(
                        f"images may be at most {MAX_SIDE}x{MAX_SIDE} pixels", field=field
                    )
                extension = _FORMATS[str(image.format)]
                image.load()
                return _reencode(image, extension)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageDimensionsTooLarge(
            f"images may be at most {MAX_SIDE}x{MAX_SIDE} pixels", field=field
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise InvalidImage("upload a PNG, JPEG or WebP image", field=field) from error


def _reencode(image: Image.Image, extension: str) -> CleanImage:
    upright = ImageOps.exif_transpose(image)  # keep the orientation EXIF would have applied
    if extension == "jpg":
        frame = upright.convert("RGB")
    else:
        frame = upright.convert("RGBA" if _has_alpha(upright) else "RGB")
    output = io.BytesIO()
    if extension == "png":
        frame.save(output, format="PNG", optimize=True)
    elif extension == "jpg":
        frame.save(output, format="JPEG", quality=88)
    else:
        frame.save(output, format="WEBP", quality=88)
    return CleanImage(output.getvalue(), extension, frame.width, frame.height)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def avatar_key(user_id: uuid.UUID, extension: str) -> str:
    return f"avatars/{user_id}/{uuid.uuid4().hex}.{extension}"
