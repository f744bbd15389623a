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

from absl import flags

from siamfc_jax import weights
from siamfc_jax import cli
from siamfc_jax import configs
from siamfc_jax import evaluation
from siamfc_jax import sequences
from siamfc_jax import validation
from siamfc_jax import xla

_CONFIG = cli.define_config(
    'config', str(configs.DIRECTORY / 'evaluate.py'),
    'Evaluation config file.')
_TRACKER = flags.DEFINE_enum(
    'tracker', 'siamfc', evaluation.TRACKERS, 'Tracker to serve.')


def main(argv):
  del argv  # cli.run allows none.
  xla.use_fast_cpu_flags()
  config = _CONFIG.value
  validation.check_track(config.track, 'config.track')
  evaluation.serve_trax(_TRACKER.value, config)


def run():
  """Console entry point (siamfc-vot-trax)."""
  cli.run(main, errors=(weights.WeightsError, sequences.SequenceError,
                        evaluation.EvaluationError))


if __name__ == '__main__':
  run()
