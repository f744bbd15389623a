"""Baseline trackers behind the ``init(image, box)`` / ``update(image)`` API.

They run through the same evaluation loop as SiamFC (siamfc_jax.evaluation):
OpenCV's KCF, CSRT, MOSSE and MedianFlow (``opencv-contrib-python-headless``)
and a plain normalised cross-correlation (NCC) template matcher. Images are
(H, W, 3) RGB or (H, W) gray arrays; boxes are 1-based (x, y, w, h), as for
siamfc_jax.tracker.Tracker.
"""

from typing import Callable

import cv2
import numpy as np

from siamfc_jax import boxes as boxes_lib
from siamfc_jax import sequences

# OpenCV's legacy API: float (Rect2d) boxes and all four trackers.
OPENCV_TRACKERS: dict[str, Callable[[], object]] = {
    'kcf': cv2.legacy.TrackerKCF_create,
    'csrt': cv2.legacy.TrackerCSRT_create,
    'mosse': cv2.legacy.TrackerMOSSE_create,
    'medianflow': cv2.legacy.TrackerMedianFlow_create,
}


def _gray(image) -> np.ndarray:
  rgb = sequences.to_rgb(image)
  return cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2GRAY)


class NCCTracker:
  """Matches the first-frame template by normalised cross-correlation.

  Each frame, the gray template is correlated (``cv2.TM_CCOEFF_NORMED``)
  over a window ``search_scale`` times the box size around the last
  position, and the box moves to the best match; its size never changes.
  Parts of the window outside the frame repeat the border pixels.
  """

  def __init__(self, *, search_scale: float):
    if search_scale < 1:
      raise ValueError(f'search_scale must be >= 1, got {search_scale}')
    self.search_scale = search_scale
    self._template = None
    self._center = None  # 0-based (x, y).
    self._size = None  # (w, h).

  def init(self, image, box) -> None:
    gray = _gray(image)
    box = boxes_lib.check_box(box, gray.shape, where='initial box')
    self._size = box[2:].copy()
    self._center = box[:2] - 1 + (self._size - 1) / 2
    patch = np.maximum(np.round(self._size), 1).astype(int)
    self._template = cv2.getRectSubPix(gray, tuple(int(v) for v in patch),
                                       tuple(float(v) for v in self._center))

  def update(self, image) -> np.ndarray:
    """Moves to the best match in the search window; returns the box."""
    if self._template is None:
      raise RuntimeError('call init(image, box) before update(image)')
    gray = _gray(image)
    template_h, template_w = self._template.shape
    window = (int(np.ceil(template_w * self.search_scale)),
              int(np.ceil(template_h * self.search_scale)))
    search = cv2.getRectSubPix(gray, window,
                               tuple(float(v) for v in self._center))
    response = cv2.matchTemplate(search, self._template,
                                 cv2.TM_CCOEFF_NORMED)
    response = np.nan_to_num(response, nan=-1.0, posinf=-1.0, neginf=-1.0)
    row, col = np.unravel_index(np.argmax(response), response.shape)
    # Response cell (0, 0) puts the template centre at its half size.
    match = np.array([col + (template_w - 1) / 2, row + (template_h - 1) / 2])
    self._center = self._center + match - (np.array(window) - 1) / 2
    self._center = np.clip(self._center, 0, np.array(gray.shape[1::-1]) - 1)
    return np.concatenate([self._center + 1 - (self._size - 1) / 2,
                           self._size])


class OpenCVTracker:
  """One of OpenCV's trackers (``OPENCV_TRACKERS``).

  When OpenCV reports a lost target, the last box is kept.
  """

  def __init__(self, name: str):
    if name not in OPENCV_TRACKERS:
      raise ValueError(f'unknown OpenCV tracker {name!r}; choose from'
                       f' {", ".join(OPENCV_TRACKERS)}')
    self.name = name
    self._tracker = None
    self._box = None

  @staticmethod
  def _bgr(image) -> np.ndarray:
    rgb = np.clip(sequences.to_rgb(image), 0, 255).astype(np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)

  def init(self, image, box) -> None:
    bgr = self._bgr(image)
    self._box = boxes_lib.check_box(box, bgr.shape, where='initial box')
    self._tracker = OPENCV_TRACKERS[self.name]()
    x, y, w, h = self._box
    self._tracker.init(bgr, (x - 1, y - 1, w, h))

  def update(self, image) -> np.ndarray:
    """Tracks one more frame and returns its box."""
    if self._tracker is None:
      raise RuntimeError('call init(image, box) before update(image)')
    found, box = self._tracker.update(self._bgr(image))
    if found:
      x, y, w, h = box
      self._box = np.array([x + 1, y + 1, w, h], np.float64)
    return self._box.copy()


BASELINES = ('ncc', *OPENCV_TRACKERS)


def create(name: str, *, ncc_search_scale: float):
  """The baseline called ``name`` (one of ``BASELINES``)."""
  if name == 'ncc':
    return NCCTracker(search_scale=ncc_search_scale)
  return OpenCVTracker(name)
