"""SiamFC (Bertinetto et al., 2016) in JAX/Flax.

  tracker = siamfc_jax.Tracker.from_pretrained()
  tracker.init(image, box)      # box: 1-based (x, y, w, h)
  box = tracker.update(image)
  result = siamfc_jax.track('video.mp4', box)  # boxes, scores, seconds

Importing the package changes nothing in the process. On a CPU, call
``siamfc_jax.xla.use_fast_cpu_flags()`` before the first JAX computation
for XLA flags that make tracking about 2x and training about 3x faster
(siamfc_jax/xla.py); the ``experiments`` jobs do.
"""

from siamfc_jax.tracker import Tracker
from siamfc_jax.tracker import TrackResult
from siamfc_jax.tracker import track

__all__ = ['Tracker', 'TrackResult', 'track']
