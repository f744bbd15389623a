"""Sweeps the tracker's hyper-parameters over OTB-layout sequences.

  python -m experiments.sweep --config=siamfc_jax/configs/sweep.py \
      --root=../shared/data/sequences --results=runs/sweep \
      --config.grid.window_influence="(0.15,0.176,0.2)" \
      --config.grid.scale_lr="(0.45,0.59,0.7)"

Prints the table of every setting (see siamfc_jax/configs/sweep.py);
re-running resumes an interrupted sweep.
"""

from absl import flags

from siamfc_jax import boxes
from siamfc_jax import cli
from siamfc_jax import configs
from siamfc_jax import files
from siamfc_jax import sequences
from siamfc_jax import sweep
from siamfc_jax import validation
from siamfc_jax import weights
from siamfc_jax import xla

_CONFIG = cli.define_config('config', str(configs.DIRECTORY / 'sweep.py'),
                            'Sweep config file.')
_ROOT = flags.DEFINE_string('root', None, 'Sets config.root.')
_RESULTS = flags.DEFINE_string('results', None, 'Sets config.results_dir.')


def main(argv):
  del argv  # cli.run allows none.
  xla.use_fast_cpu_flags()
  config = _CONFIG.value
  for field, flag in (('root', _ROOT), ('results_dir', _RESULTS)):
    if flag.value is not None:
      config[field] = flag.value
  validation.check_sweep(config)
  files.check_folder(config.results_dir, what='--results' if _RESULTS.value
                     else 'config.results_dir')
  _, text = sweep.run(config)
  print(text)


def run():
  """Console entry point (siamfc-sweep)."""
  cli.run(main, errors=(sequences.SequenceError, boxes.BoxError,
                        weights.WeightsError),
          interrupted='; the result files of the sequences done are kept:'
          ' the same command tracks only the others')


if __name__ == '__main__':
  run()
