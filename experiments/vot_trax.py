"""A TraX server, so that the VOT toolkit can run our trackers.

The toolkit starts it from its trackers.ini, e.g.

  [SiamFC]
  label = SiamFC
  protocol = trax
  command = /path/to/.venv/bin/python -m experiments.vot_trax --tracker=siamfc
  env_PYTHONPATH = /path/to/siamfc-jax
  env_JAX_PLATFORMS = cpu
  timeout = 300

then `vot evaluate --workspace=WORKSPACE SiamFC`. --tracker picks SiamFC or
a baseline; SiamFC's weights and settings come from the evaluate config
(e.g. --config.track.checkpoint=weights.msgpack). It prints nothing of its
own: stdin/stdout carry the protocol.
"""

import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from siamfc_jax import checkpoints
from siamfc_jax import configs
from siamfc_jax import evaluation
from siamfc_jax import xla

_CONFIG = config_flags.DEFINE_config_file(
    'config', str(configs.DIRECTORY / 'evaluate.py'),
    'Evaluation config file.')
_TRACKER = flags.DEFINE_enum(
    'tracker', 'siamfc', evaluation.TRACKERS, 'Tracker to serve.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  xla.use_fast_cpu_flags()
  try:
    evaluation.serve_trax(_TRACKER.value, _CONFIG.value)
  except (checkpoints.WeightsError, evaluation.EvaluationError) as e:
    sys.exit(f'error: {e}')


def run():
  """Console entry point (siamfc-vot-trax)."""
  app.run(main)


if __name__ == '__main__':
  run()
