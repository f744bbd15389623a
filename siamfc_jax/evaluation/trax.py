"""Serving a tracker to the VOT toolkit over the TraX protocol."""

import ml_collections
import numpy as np

from siamfc_jax import sequences
from siamfc_jax.evaluation import base
from siamfc_jax.evaluation import runner


def serve_trax(name: str, config: ml_collections.ConfigDict) -> None:
  """Runs tracker ``name`` as a TraX server until the client quits.

  This is how the VOT toolkit runs a tracker (``protocol = trax`` in its
  trackers.ini): it sends each frame as an image path and the initial
  region as a rectangle (0-based x, y, w, h; the toolkit turns polygons
  into their bounding boxes), and gets a rectangle back for every frame.
  Messages go over stdin/stdout, or the socket named by TRAX_SOCKET.
  """
  try:
    import trax  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise base.EvaluationError('the TraX server needs the vot-trax package'
                               ' (pip install vot-trax)') from None
  tracker = runner.create_tracker(name, config)
  with trax.Server([trax.Region.RECTANGLE], [trax.Image.PATH],
                   tracker_name=name) as server:
    while True:
      request = server.wait()
      if request.type == trax.TraxStatus.QUIT:
        break
      image = sequences.read_image(request.image['color'].path())
      if request.type == trax.TraxStatus.INITIALIZE:
        x, y, width, height = request.objects[0][0].bounds()
        box = np.array([x + 1, y + 1, width, height], np.float64)
        tracker.init(image, box)
      else:
        box = np.asarray(tracker.update(image), np.float64)
      x, y, width, height = (float(v) for v in box)
      server.status([(trax.Rectangle.create(x - 1, y - 1, width, height),
                      {})])
