"""A still image whose colours and layout survive a video encode, and the check for it.

Four solid quadrants (red, green / blue, yellow): the first frame of an image-to-video clip
should show each colour in its place. Compared on the middle of each quadrant's upper part,
clear of blurred edges and of a caption band at the bottom.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

QUADRANTS: tuple[tuple[int, int, int], ...] = (
    (220, 30, 30),
    (30, 200, 40),
    (40, 60, 220),
    (230, 210, 40),
)
# the largest difference of a channel's mean allowed after encode and decode
COLOUR_TOLERANCE = 12


def quadrant_png(width: int = 320, height: int = 180) -> bytes:
    image = Image.new("RGB", (width, height))
    half_w, half_h = width // 2, height // 2
    for index, colour in enumerate(QUADRANTS):
        x, y = (index % 2) * half_w, (index // 2) * half_h
        image.paste(colour, (x, y, x + half_w, y + half_h))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_uri(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def quadrant_means(pixels: npt.NDArray[Any]) -> list[npt.NDArray[np.float64]]:
    """The mean RGB of a patch in each quadrant of ``pixels`` (height × width × 3)."""
    height, width = pixels.shape[:2]
    means = []
    for index in range(4):
        x0, y0 = (index % 2) * width // 2, (index // 2) * height // 2
        patch = pixels[
            y0 + height * 3 // 20 : y0 + height * 7 // 20,
            x0 + width // 8 : x0 + width * 3 // 8,
        ]
        means.append(patch.reshape(-1, 3).astype(np.float64).mean(axis=0))
    return means


def colour_errors(pixels: npt.NDArray[Any]) -> list[float]:
    """For each quadrant, the largest channel difference from the colour it should have."""
    return [
        float(np.abs(seen - np.array(colour)).max())
        for seen, colour in zip(quadrant_means(pixels), QUADRANTS, strict=True)
    ]
