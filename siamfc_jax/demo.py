"""A built-in demo sequence that needs no download.

A cat's face (scikit-image's bundled ``chelsea`` photo) moves along a
figure-eight over a slowly panning, cluttered background (the bundled
``coffee`` photo: a cup, a saucer, a spoon), up to 12 pixels a frame, and
grows and shrinks by up to 30 %; the ground truth is known exactly. It is
the kind of motion SiamFC is built for (translation, scale change, moderate
clutter); it has no occlusion, no look-alike distractor, no lighting change
and no out-of-view frames.
"""

import numpy as np
import skimage.data
import skimage.transform

from siamfc_jax import sequences

FRAME_SHAPE = (300, 400)
_OBJECT_WINDOW = (slice(60, 290), slice(100, 380))  # Face in ``chelsea``.
_OBJECT_HEIGHT = 64  # Object height in pixels at scale 1.


def _trajectory(num_frames: int):
  """Top-left corner (y, x) and scale of the object in every frame."""
  t = np.linspace(0, 2 * np.pi, num_frames)
  scale = 1 + 0.3 * np.sin(t)
  height, width = FRAME_SHAPE
  y = height / 2 + 0.25 * height * np.sin(t) - _OBJECT_HEIGHT * scale / 2
  x = width / 2 + 0.25 * width * np.sin(2 * t) - _OBJECT_HEIGHT * scale / 2
  return np.round(y).astype(int), np.round(x).astype(int), scale


def demo_sequence(num_frames: int = 120) -> sequences.Sequence:
  """The demo sequence with its exact (N, 4) ground truth."""
  face = skimage.data.chelsea()[_OBJECT_WINDOW]
  aspect = face.shape[1] / face.shape[0]
  background = skimage.data.coffee()
  ys, xs, scales = _trajectory(num_frames)
  sizes = [(round(_OBJECT_HEIGHT * s), round(_OBJECT_HEIGHT * s * aspect))
           for s in scales]
  groundtruth = np.array([[x + 1, y + 1, w, h]
                          for y, x, (h, w) in zip(ys, xs, sizes)], np.float64)
  pan = np.linspace(0, background.shape[1] - FRAME_SHAPE[1], num_frames)

  def read_frames():
    for i in range(num_frames):
      left = int(pan[i])
      frame = background[:FRAME_SHAPE[0], left:left + FRAME_SHAPE[1]].copy()
      h, w = sizes[i]
      patch = skimage.transform.resize(face, (h, w), anti_aliasing=True,
                                        preserve_range=True)
      frame[ys[i]:ys[i] + h, xs[i]:xs[i] + w] = np.round(patch)
      yield frame

  return sequences.Sequence(name='demo', num_frames=num_frames,
                            read_frames=read_frames, groundtruth=groundtruth)
