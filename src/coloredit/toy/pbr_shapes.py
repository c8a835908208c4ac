"""The path-traced world's product-like meshes (mug, bottle, vase, an arch), built by revolution, with (u, v)
coordinates for textures, written once per process as OBJ files for Mitsuba.

Why a module: geometry is the one part of the world that knows nothing of color or light.
"""

from __future__ import annotations

import hashlib
import tempfile
from functools import cache
from pathlib import Path

import numpy as np


def _revolve(profile: np.ndarray, segments: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A surface of revolution about +y from a polyline profile of (radius, height) points, with u around and
    v along the profile; faces wind so normals point to the profile's right-hand side."""
    angles = np.linspace(0, 2 * np.pi, segments + 1)
    along = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(profile, axis=0), axis=1))])
    v = along / along[-1]
    radius, height = profile[:, 0][:, None], profile[:, 1][:, None]
    positions = np.stack(
        [radius * np.cos(angles), np.broadcast_to(height, (len(profile), segments + 1)), -radius * np.sin(angles)],
        axis=-1,
    ).reshape(-1, 3)
    uvs = np.stack(np.broadcast_arrays(angles[None, :] / (2 * np.pi), v[:, None]), axis=-1).reshape(-1, 2)
    rows, cols = len(profile), segments + 1
    i, j = np.meshgrid(np.arange(rows - 1), np.arange(segments), indexing="ij")
    a, b, c, d = i * cols + j, i * cols + j + 1, (i + 1) * cols + j, (i + 1) * cols + j + 1
    faces = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])
    return positions, uvs, faces


def _arc(center: tuple[float, float], radius: float, start: float, stop: float, n: int = 24) -> np.ndarray:
    t = np.radians(np.linspace(start, stop, n))
    return np.stack([center[0] + radius * np.cos(t), center[1] + radius * np.sin(t)], axis=-1)


def _profile(shape: str) -> np.ndarray:
    """Each revolved shape's (radius, height) profile, bottom center to top center, height 1."""
    if shape == "cylinder":
        return np.array([[0, 0], [0.38, 0], [0.4, 0.02], [0.4, 0.98], [0.38, 1.0], [0, 1.0]])
    if shape == "bottle":
        body = [[0, 0], [0.3, 0], [0.32, 0.03], [0.32, 0.55]]
        neck = _arc((0.12, 0.55), 0.2, 0, 90, 12).tolist()
        return np.array([*body, *neck, [0.11, 0.85], [0.11, 0.98], [0.09, 1.0], [0, 1.0]])
    if shape == "vase":
        t = np.linspace(0, 1, 40)
        radius = 0.18 + 0.22 * np.sin(np.pi * (0.15 + 0.85 * t)) ** 2 - 0.06 * t
        return np.concatenate([[[0, 0]], np.stack([radius, t], -1), [[0.0, 1.0]]])[:-1]
    if shape == "mug":  # an open cup with a wall: outside up, over the rim, inside down
        outer = [[0, 0], [0.33, 0], [0.35, 0.02], [0.35, 0.9]]
        rim = _arc((0.33, 0.9), 0.02, 0, 180, 8).tolist()
        return np.array([*outer, *rim, [0.31, 0.1], [0.0, 0.1]])
    raise ValueError(shape)


def _torus(major: float, minor: float, sweep: float = 360.0, segments: int = 64, rings: int = 24):
    """A torus (or a part of one, `sweep` degrees) about +y."""
    circle = _arc((major, 0.0), minor, -90, 270, rings + 1)
    positions, uvs, faces = _revolve(circle, segments)
    if sweep < 360:  # a handle: keep the first `sweep` degrees of the revolution
        angle = np.degrees(np.arctan2(-positions[:, 2], positions[:, 0])) % 360
        keep = np.all(angle[faces] <= sweep + 1e-6, axis=1)
        faces = faces[keep]
    return positions, uvs, faces


def mesh_geometry(shape: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions, uvs, faces) of a mesh shape in a unit box standing on y = 0."""
    if shape == "torus":
        positions, uvs, faces = _torus(0.35, 0.15)
        # standing on its edge, sunk into the floor to its center's height 0.15: an arch (the part below the
        # floor, which no ray from above reaches, is left out)
        positions = positions[:, [0, 2, 1]] * [1, 1, -1] + [0, 0.15, 0]
        faces = faces[positions[faces, 1].max(axis=1) > 0]
        return _without_degenerate(positions, uvs, faces)
    positions, uvs, faces = _revolve(_profile(shape))
    if shape == "mug":  # a handle: half a torus on the side, standing upright
        handle_positions, handle_uvs, handle_faces = _handle()
        faces = np.concatenate([faces, handle_faces + len(positions)])
        positions, uvs = np.concatenate([positions, handle_positions]), np.concatenate([uvs, handle_uvs])
    return _without_degenerate(positions, uvs, faces)


def _without_degenerate(positions: np.ndarray, uvs: np.ndarray, faces: np.ndarray):
    """The mesh without zero-area faces (a revolution's poles) and the vertices no face uses, so every
    vertex has a normal."""
    a, b, c = (positions[faces[:, k]] for k in range(3))
    faces = faces[np.linalg.norm(np.cross(b - a, c - a), axis=1) > 1e-12]
    used, faces = np.unique(faces, return_inverse=True)
    return positions[used], uvs[used], faces.reshape(-1, 3)


def _handle() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mug's handle: half a torus in the x-y plane, attached to the outside wall."""
    positions, uvs, faces = _torus(0.22, 0.045, sweep=180, segments=48, rings=12)
    x, y, z = positions.T  # the half ring lies in x-z for z <= 0; stand it up in x-y, facing +x
    return np.stack([0.33 - z, 0.47 + x, y], -1), uvs, faces[:, ::-1]  # the swap of axes mirrors: rewind


@cache
def mesh_file(shape: str) -> str:
    """The shape's mesh as an OBJ file, written once per process in a temporary folder."""
    positions, uvs, faces = mesh_geometry(shape)
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in positions]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in uvs]
    lines += [f"f {a}/{a} {b}/{b} {c}/{c}" for a, b, c in faces + 1]
    text = "\n".join(lines) + "\n"
    folder = Path(tempfile.gettempdir()) / "coloredit-pbr-meshes"
    folder.mkdir(exist_ok=True)
    path = folder / f"{shape}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.obj"
    if not path.exists():
        temp = path.with_suffix(f".{np.random.randint(1 << 30)}.tmp")
        temp.write_text(text)
        temp.replace(path)
    return str(path)
