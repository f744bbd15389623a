"""SiamFC (Bertinetto et al., 2016) in JAX/Flax.

  tracker = siamfc_jax.Tracker.from_pretrained()
  tracker.init(image, box)      # box: 1-based (x, y, w, h)
  box = tracker.update(image)
  result = siamfc_jax.track('video.mp4', box)  # boxes, scores, seconds

Importing the package before JAX runs its first computation turns on the
fast CPU convolutions (siamfc_jax/xla.py) unless XLA_FLAGS is already set.
"""

from siamfc_jax import xla

xla.use_fast_cpu_convolutions()

# The public API is imported after the flags are set.
# pylint: disable=wrong-import-position

from siamfc_jax.tracker import Tracker
from siamfc_jax.tracker import TrackResult
from siamfc_jax.tracker import track

__all__ = ['Tracker', 'TrackResult', 'track']
