"""Box conventions, validation, IoU and centre error.

Boxes on disk and at the API follow the OTB convention: ``(x, y, w, h)`` with
a 1-based top-left corner. Inside the tracker a box is a 0-based centre
``(cy, cx)`` and a size ``(h, w)``, matching array indexing.
"""

import jax
import jax.numpy as jnp
import numpy as np


class BoxError(ValueError):
  """A box that cannot be tracked or evaluated."""


def xywh_to_center_size(box) -> tuple[jax.Array, jax.Array]:
  """1-based (x, y, w, h) -> 0-based centre (cy, cx) and size (h, w).

  Works on the host and inside jitted code.
  """
  x, y, w, h = (box[..., i] for i in range(4))
  return (jnp.stack([y - 1 + (h - 1) / 2, x - 1 + (w - 1) / 2], axis=-1),
          jnp.stack([h, w], axis=-1))


def center_size_to_xywh(center, size) -> jax.Array:
  """0-based centre (cy, cx) and size (h, w) -> 1-based (x, y, w, h)."""
  cy, cx, h, w = center[..., 0], center[..., 1], size[..., 0], size[..., 1]
  return jnp.stack([cx + 1 - (w - 1) / 2, cy + 1 - (h - 1) / 2, w, h],
                   axis=-1)


def is_valid(boxes) -> np.ndarray:
  """True for boxes with finite coordinates and positive width and height."""
  boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
  return np.all(np.isfinite(boxes), axis=1) & (boxes[:, 2] > 0) & (
      boxes[:, 3] > 0)


def check_box(box, image_shape, *, where: str = 'box') -> np.ndarray:
  """Returns ``box`` as float64 (x, y, w, h), or raises BoxError saying why.

  A box must have four finite numbers, positive width and height, and
  overlap the image (``image_shape`` is (H, W, ...)).
  """
  box = np.asarray(box, np.float64).reshape(-1)
  if box.shape != (4,):
    raise BoxError(f'{where}: expected 4 numbers x,y,w,h, got {box.size}')
  if not np.all(np.isfinite(box)):
    raise BoxError(f'{where}: box {box.tolist()} has NaN or infinite values')
  x, y, w, h = box
  if w <= 0 or h <= 0:
    raise BoxError(f'{where}: box {box.tolist()} has non-positive size')
  height, width = image_shape[:2]
  if x + w - 1 < 1 or y + h - 1 < 1 or x > width or y > height:
    raise BoxError(f'{where}: box {box.tolist()} lies outside the'
                   f' {width}x{height} image')
  return box


def iou(a, b) -> np.ndarray:
  """Intersection over union of (N, 4) x,y,w,h boxes, as the OTB toolkit."""
  a = np.asarray(a, np.float64).reshape(-1, 4)
  b = np.asarray(b, np.float64).reshape(-1, 4)
  left = np.maximum(a[:, 0], b[:, 0])
  top = np.maximum(a[:, 1], b[:, 1])
  right = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
  bottom = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
  inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
  union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
  with np.errstate(invalid='ignore', divide='ignore'):
    return inter / union


def centers(boxes) -> np.ndarray:
  """(N, 2) centres (x, y) of x,y,w,h boxes, as the OTB toolkit."""
  boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
  return boxes[:, :2] + (boxes[:, 2:] - 1) / 2


def center_error(a, b) -> np.ndarray:
  """Euclidean distance in pixels between the centres of (N, 4) boxes."""
  return np.linalg.norm(centers(a) - centers(b), axis=1)
