"""A small vectorised rasteriser: scene -> uint8 frames [T, H, W, 3].

Objects are drawn back to front in their index order. Each object's shape and texture are evaluated
in its own rotated, scaled coordinates, for a whole chunk of frames at once (numpy broadcasting over
[T, H, W]); there is no per-pixel Python loop.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from . import vocab
from .motion import compute_tracks, frame_times
from .scenes import Scene, draw_order

CHUNK = 48  # frames rendered per numpy batch: bounds memory for long videos


def background_image(kind: str, size: int, seed: int) -> np.ndarray:
    """A static float32 [H, W, 3] background in 0..255; the seed varies its noise and pattern phase."""
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:size, 0:size].astype(np.float32) / size
    noise = rng.standard_normal((size, size)).astype(np.float32)
    phase = float(rng.uniform(0, 2 * np.pi))

    def rgb(c, scale=1.0):
        return np.asarray(c, np.float32)[None, None, :] * np.asarray(scale, np.float32)[..., None]

    if kind == "grass":
        blades = 0.85 + 0.15 * np.sin(u * 90 + phase + 3 * noise)
        img = rgb((60, 140, 50), blades + 0.06 * noise)
    elif kind == "sand":
        img = rgb((215, 190, 130), 0.95 + 0.05 * np.sin(v * 30 + u * 8 + phase) + 0.05 * noise)
    elif kind == "sky":
        img = rgb((110, 170, 235), 1.0 - 0.35 * v)[...] + rgb((120, 70, 20), v)
    elif kind == "water":
        waves = 0.85 + 0.15 * np.sin(v * 40 + 4 * np.sin(u * 9 + phase))
        img = rgb((30, 90, 160), waves + 0.03 * noise)
    elif kind == "bricks":
        rows = np.floor(v * 10)
        col = (u * 5 + 0.5 * (rows % 2) + phase) % 1.0
        mortar = ((v * 10) % 1.0 < 0.12) | (col < 0.06)
        img = np.where(mortar[..., None], rgb((200, 200, 195)), rgb((165, 70, 50), 0.92 + 0.05 * noise))
    elif kind == "night":
        stars = rng.random((size, size)) > 0.985
        img = rgb((15, 20, 50), 1.0 + 0.3 * v)
        img = np.where(stars[..., None], rgb((250, 250, 220)), img)
    elif kind == "wood":
        grain = 0.8 + 0.2 * np.sin(v * 60 + 3 * np.sin(u * 4 + phase) + 0.5 * noise)
        img = rgb((150, 100, 55), grain)
    elif kind == "snow":
        img = rgb((235, 238, 245), 0.96 + 0.03 * noise - 0.06 * v)
    else:
        raise ValueError(f"unknown background {kind!r}")
    return np.clip(img, 0, 255).astype(np.float32)


def _shape_mask(shape: str, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    ax, ay = np.abs(qx), np.abs(qy)
    if shape == "circle":
        return qx * qx + qy * qy <= 1.0
    if shape == "square":
        return np.maximum(ax, ay) <= 0.82
    if shape == "diamond":
        return ax + ay <= 1.0
    if shape == "triangle":  # apex up (negative y), base at qy = 0.6
        return (qy <= 0.6) & (ax * 1.2 <= qy + 0.9)
    if shape == "ring":
        d2 = qx * qx + qy * qy
        return (d2 <= 1.0) & (d2 >= 0.36)
    if shape == "cross":
        return ((ax <= 0.3) & (ay <= 0.95)) | ((ay <= 0.3) & (ax <= 0.95))
    if shape == "star":  # five points, one up; the edge radius runs 0.45 (between points) to 1 (tips)
        sector = 2.0 * np.pi / 5.0
        a = np.mod(np.arctan2(qy, qx) + np.pi / 2.0, sector) / sector
        return qx * qx + qy * qy <= (0.45 + 0.55 * np.abs(2.0 * a - 1.0)) ** 2
    if shape == "hexagon":  # flat top and bottom
        return (ay <= 0.87) & (ax * 0.87 + ay * 0.5 <= 0.87)
    if shape == "heart":  # the classic implicit curve, point down
        hx, hy = qx * 1.25, -qy * 1.25 + 0.2
        return (hx * hx + hy * hy - 1.0) ** 3 - hx * hx * hy ** 3 <= 0.0
    if shape == "crescent":  # a disc with an offset disc cut out of its right side
        return (qx * qx + qy * qy <= 1.0) & ((qx - 0.45) ** 2 + qy * qy > 0.72)
    raise ValueError(f"unknown shape {shape!r}")


def _texture_shade(texture: str, qx: np.ndarray, qy: np.ndarray) -> np.ndarray | None:
    """Brightness factor per pixel (None = plain)."""
    if texture == "plain":
        return None
    if texture == "striped":
        return np.where(np.floor(qx * 2.5) % 2 == 0, 1.0, 0.45).astype(np.float32)
    if texture == "checkered":
        return np.where((np.floor(qx * 2.2) + np.floor(qy * 2.2)) % 2 == 0, 1.0, 0.4).astype(np.float32)
    if texture == "dotted":
        fx, fy = (qx * 2.5) % 1.0 - 0.5, (qy * 2.5) % 1.0 - 0.5
        return np.where(fx * fx + fy * fy < 0.07, 0.3, 1.0).astype(np.float32)
    raise ValueError(f"unknown texture {texture!r}")


def _pixel_span(lo: np.ndarray, hi: np.ndarray, size: int) -> tuple[int, int]:
    return max(0, int(np.floor(lo.min() * size))), min(size, int(np.ceil(hi.max() * size)) + 1)


def render_chunks(scene: Scene, chunk: int = CHUNK) -> Iterator[np.ndarray]:
    """Yield uint8 [t, H, W, 3] chunks covering all ``scene.num_frames`` frames."""
    size = scene.size
    bg = background_image(scene.background, size, scene.texture_seed)
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size
    U, V = grid[None, None, :], grid[None, :, None]
    times = frame_times(scene)
    for s in range(0, len(times), chunk):
        tr = compute_tracks(scene, times[s:s + chunk])
        T = tr.x.shape[1]
        frames = np.broadcast_to(bg, (T, size, size, 3)).copy()
        for k in draw_order(scene.objects):
            obj = scene.objects[k]
            alpha = tr.alpha[k].astype(np.float32)
            shown = alpha > 0.01
            if not np.any(shown):
                continue
            # Only the pixels the object can reach in this chunk (its union bounding box): objects
            # are small, so this skips most of the frame. 1.45 r bounds every shape's corners.
            reach = 1.45 * tr.r[k][shown]
            x0, x1 = _pixel_span(tr.x[k][shown] - reach, tr.x[k][shown] + reach, size)
            y0, y1 = _pixel_span(tr.y[k][shown] - reach, tr.y[k][shown] + reach, size)
            if x0 >= x1 or y0 >= y1:
                continue
            x, y, r, a = (arr[k].astype(np.float32)[:, None, None] for arr in (tr.x, tr.y, tr.r, tr.angle))
            dx, dy = U[..., x0:x1] - x, V[:, y0:y1] - y
            cos, sin = np.cos(a), np.sin(a)
            qx = (cos * dx + sin * dy) / r
            qy = (-sin * dx + cos * dy) / r
            mask = _shape_mask(obj.shape, qx, qy)
            cover = mask * alpha[:, None, None]  # [T, h, w]
            colour = np.asarray(vocab.COLOURS[obj.colour], np.float32)
            shade = _texture_shade(obj.texture, qx, qy)
            paint = colour if shade is None else shade[..., None] * colour
            region = frames[:, y0:y1, x0:x1]
            region += cover[..., None] * (paint - region)
        yield np.clip(frames + 0.5, 0, 255).astype(np.uint8)


def render(scene: Scene) -> np.ndarray:
    return np.concatenate(list(render_chunks(scene)), axis=0)
