"""The link preview: a 1200×630 PNG per user (`<login>/social.png`, the user's front report:
the past year), drawn at publish time with Pillow, no browser, and referenced by the `og:image`
of every report page of the user. One image a user, not one a period: a period's page says its
own numbers in its description, and twelve images of ~40 KB were most of a typical user's bytes.

Fonts: Pillow's own `ImageFont.load_default(size=...)`, which since Pillow 10.1 is a
scalable TrueType font (Aileron Regular) shipped inside the Pillow wheel, so the image looks
the same on every machine without a system font package (Debian's fonts-dejavu is not on
every CI runner or container). It covers Latin scripts; a character it lacks is drawn as a
box, never as markup, as the PNG holds only pixels.

Drawing costs CPU (some 25 ms), so it happens only when what the image shows changed: the
hash of what it draws (`Headline` with its numbers as drawn, and `VERSION`) is stored in
the PNG's `gitbrag-inputs` text chunk, and a publisher that finds the same hash in the
published file keeps that file.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from gitbrag.publish.cards import Headline, shorten

WIDTH = 1200
HEIGHT = 630
FILE_NAME = "social.png"
MEDIA_TYPE = "image/png"
HASH_KEY = "gitbrag-inputs"
VERSION = 2  # bump when the drawing changes, so every image is drawn again
PALETTE = {"bg": "#0d1117", "panel": "#151b23", "border": "#3d444d", "text": "#e6edf3", "muted": "#9198a1",
           "accent": "#4493f8"}  # fmt: skip
LANGUAGE_COLORS = ("#4f8fd0", "#e3b341", "#3fb950")


def inputs_hash(headline: Headline) -> str:
    """What the image shows, hashed: equal hashes draw equal images. The numbers count as
    drawn ("11.3k"), so a star or a line more that leaves the figure as it was (most days
    near a big repository) keeps the image instead of drawing and encoding it again."""
    drawn = asdict(headline) | {"stats": headline.stats()}
    for exact in ("prs", "merged", "repos", "lines", "stars"):
        del drawn[exact]
    payload = json.dumps({"version": VERSION, "drawn": drawn}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def embedded_hash(png: bytes) -> str | None:
    """The inputs hash a published image carries, or None (not ours, not a PNG, damaged)."""
    try:  # the PNG reader alone: `Image.open` would first import every format plugin
        with PngImagePlugin.PngImageFile(io.BytesIO(png)) as image:
            value = image.info.get(HASH_KEY)
    except (OSError, ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def render(headline: Headline) -> bytes:
    """The social image as PNG bytes, its inputs hash embedded."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PALETTE["bg"])
    draw = ImageDraw.Draw(image)
    _draw_person(draw, headline)
    _draw_stats(draw, headline)
    _draw_languages(draw, headline)
    draw.text((80, 560), "gitbrag · GitHub contribution report", font=_font(26), fill=PALETTE["muted"])
    info = PngImagePlugin.PngInfo()
    info.add_text(HASH_KEY, inputs_hash(headline))
    out = io.BytesIO()
    # Reduced to a palette of 128 colours (flat colours and anti-aliased text: nothing is
    # lost to the eye): some 15 KB where RGB is 40 KB. It costs a few times the CPU of saving
    # it as drawn, spent once per user (one image a user) and only when what it shows changed.
    image.quantize(colors=128).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _draw_person(draw: ImageDraw.ImageDraw, headline: Headline) -> None:
    draw.ellipse((80, 70, 200, 190), fill=PALETTE["accent"])
    draw.text((140, 130), headline.initials, font=_font(52), fill=PALETTE["bg"], anchor="mm")
    room = WIDTH - 232 - 80
    draw.text((232, 88), _fit(draw, headline.name, _font(60), room), font=_font(60), fill=PALETTE["text"])
    subtitle = f"@{headline.login} · {headline.period_label}"
    draw.text((234, 160), _fit(draw, subtitle, _font(32), room), font=_font(32), fill=PALETTE["muted"])


def _fit(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, room: int
) -> str:
    """`text`, cut with an ellipsis until it is at most `room` pixels wide (wide glyphs vary)."""
    limit = len(text)
    fitted = text
    while limit > 1 and draw.textlength(fitted, font=font) > room:
        limit -= 1
        fitted = shorten(text, limit)
    return fitted


def _draw_stats(draw: ImageDraw.ImageDraw, headline: Headline) -> None:
    stats = headline.stats()
    gap, left, top, height = 20, 80, 250, 170
    width = (WIDTH - 2 * left - gap * (len(stats) - 1)) // len(stats)
    for index, (value, label) in enumerate(stats):
        x = left + index * (width + gap)
        draw.rounded_rectangle((x, top, x + width, top + height), radius=18, fill=PALETTE["panel"],
                               outline=PALETTE["border"], width=2)  # fmt: skip
        draw.text((x + width / 2, top + 70), value, font=_font(64), fill=PALETTE["text"], anchor="mm")
        first, _, second = label.partition("\n")
        below = 118 if second else 132
        draw.text((x + width / 2, top + below), first, font=_font(28), fill=PALETTE["muted"], anchor="mm")
        if second:
            draw.text((x + width / 2, top + 148), second, font=_font(22), fill=PALETTE["muted"], anchor="mm")


def _draw_languages(draw: ImageDraw.ImageDraw, headline: Headline) -> None:
    left, right, top = 80, WIDTH - 80, 462
    draw.rounded_rectangle((left, top, right, top + 16), radius=8, fill=PALETTE["panel"])
    x = float(left)
    for (_, pct), color in zip(headline.languages, LANGUAGE_COLORS, strict=False):
        share = (right - left) * max(0.0, min(pct, 100.0)) / 100
        if share >= 1:
            draw.rectangle((x, top, x + share, top + 16), fill=color)
        x += share
    legend = [f"{shorten(lang, 18)} {pct:.0f}%" for lang, pct in headline.languages]
    lx = left
    for text, color in zip(legend, LANGUAGE_COLORS, strict=False):
        draw.ellipse((lx, top + 42, lx + 20, top + 62), fill=color)
        draw.text((lx + 32, top + 52), text, font=_font(28), fill=PALETTE["text"], anchor="lm")
        lx += 350
    if not legend:
        draw.text((left, top + 52), "No language data for this period", font=_font(28), fill=PALETTE["muted"],
                  anchor="lm")  # fmt: skip
