"""Handwritten signatures (手写签批): the strokes a pen, a finger or a mouse drew on a signing pad, checked, and
the image the hub renders from them (what papers and pages show: never a picture a browser made)."""

from __future__ import annotations

import io
from typing import Annotated

from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from hub.errors import BadRequest

# A signature is a few dozen strokes of a few hundred points; more is not a signature.
MAX_STROKES = 200
MAX_POINTS = 10_000
# The rendered image: the pad's shape, the ink's width from the pen's pressure.
IMAGE_SIZE = (600, 240)
INK = (20, 24, 60, 255)
# (x, y as fractions of the pad; t: milliseconds since the stroke began; p: pressure, 0..1)
Point = tuple[float, float, float, float]


def render(strokes: list[list[Point]]) -> bytes:
    """The strokes as a PNG with a transparent background: what the papers carry."""
    width, height = IMAGE_SIZE
    scale = 3  # drawn large, then scaled down: smooth edges without an anti-aliasing library
    image = Image.new("RGBA", (width * scale, height * scale), (255, 255, 255, 0))
    pen = ImageDraw.Draw(image)
    for stroke in strokes:
        points = [(x * width * scale, y * height * scale, p) for x, y, _, p in stroke]
        if len(points) == 1:
            x, y, p = points[0]
            r = (1.5 + 3 * p) * scale
            pen.ellipse((x - r, y - r, x + r, y + r), fill=INK)
        for (x0, y0, p0), (x1, y1, p1) in zip(points, points[1:], strict=False):
            line = round((2 + 5 * (p0 + p1) / 2) * scale)
            pen.line((x0, y0, x1, y1), fill=INK, width=line, joint="curve")
            r = line / 2
            pen.ellipse((x1 - r, y1 - r, x1 + r, y1 + r), fill=INK)
    out = io.BytesIO()
    image.resize(IMAGE_SIZE, Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()


def checked(strokes: list[list[Point]]) -> list[list[Point]]:
    """The strokes if they can be a signature; BadRequest naming what is wrong otherwise."""
    drawn = [stroke for stroke in strokes if stroke]
    if not drawn:
        raise BadRequest("empty_signature", "nothing was drawn: sign on the pad first", field="strokes")
    if len(drawn) > MAX_STROKES or sum(len(s) for s in drawn) > MAX_POINTS:
        raise BadRequest("signature_too_large", f"a signature has at most {MAX_STROKES} strokes and "
                                                f"{MAX_POINTS} points", field="strokes")
    return drawn


class StrokePoint(BaseModel):
    """One point of a stroke, as the signing pad sends it."""

    model_config = ConfigDict(extra="forbid")

    x: float = Field(ge=0, le=1, allow_inf_nan=False, description="across the pad, 0 (left) to 1 (right)")
    y: float = Field(ge=0, le=1, allow_inf_nan=False, description="down the pad, 0 (top) to 1 (bottom)")
    t: float = Field(ge=0, le=3_600_000, allow_inf_nan=False, description="milliseconds since the stroke began")
    p: float = Field(0.5, ge=0, le=1, allow_inf_nan=False, description="pen pressure (0.5: a device without)")


# The pen's strokes, each its points in order.
Strokes = list[list[StrokePoint]]
STROKES: TypeAdapter[Strokes] = TypeAdapter(Annotated[Strokes, Field(max_length=MAX_STROKES)])
STROKES_FIELD = Field(max_length=MAX_STROKES, description="the pen's strokes, each its points in order")


def points(strokes: Strokes) -> list[list[Point]]:
    """The request's strokes as plain tuples."""
    return [[(p.x, p.y, p.t, p.p) for p in stroke] for stroke in strokes]


def as_json(strokes: list[list[Point]]) -> list[list[dict[str, float]]]:
    """Stored strokes in the request's shape."""
    return [[{"x": x, "y": y, "t": t, "p": p} for x, y, t, p in stroke] for stroke in strokes]
