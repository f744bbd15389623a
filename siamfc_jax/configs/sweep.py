"""A hyper-parameter sweep of the tracker over OTB-layout sequences.

Command (the grid's product: 27 settings, tracked together):
  python -m experiments.sweep --config=siamfc_jax/configs/sweep.py \
      --root=../shared/data/sequences --results=runs/sweep \
      --config.grid.window_influence="(0.15,0.176,0.2)" \
      --config.grid.scale_penalty="(0.96,0.9745,0.99)" \
      --config.grid.scale_lr="(0.45,0.59,0.7)"

(--root and --results set config.root and config.results_dir;
--config.max_frames=N cuts every sequence to its first N frames.)

Expected: a progress bar over the sequences, then a Markdown table of the
success AUC and precision at 20 px of every setting (best first) and the
paths of what the run wrote in --results:
  sweep.json        the config, git revision, weights and setting names;
  sweep.csv         the table: swept values, success_auc, precision_20px
                    and the setting's folder name, one row per setting;
  auc_heatmap.png   success AUC over the two swept fields with the most
                    values, one panel per value of the others;
  <setting>/<sequence>.txt, <setting>/times/<sequence>_time.txt
                    each setting's boxes and seconds in the OTB layout
                    (experiments.evaluate's), <setting> naming each swept
                    field's value, e.g. scale_step=1.0375_scale_penalty=
                    0.96_scale_lr=0.45_window_influence=0.15 (one name).
Re-running the command tracks only the sequences whose files are missing.

Every setting's boxes are those of a separate run with its values
(tests/test_sweep.py). Measured (experiments.benchmark_sweep, this grid on
3 shared sequences cut to 10 frames, 2-core AMD EPYC, shared): 288 s
against 402 s for 27 separate runs, the gain being one compile instead of
27; per frame, the 81-crop batch was 0.66x as fast as 27 separate steps.
"""

import ml_collections
from ml_collections import config_dict

from siamfc_jax.configs import track_3s


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.root = ''  # A folder of sequence folders (img/, groundtruth.txt).
  config.results_dir = 'runs/sweep'
  config.sequences = ()  # Sequence names to track; empty: all.
  config.max_frames = config_dict.placeholder(int)  # Cut sequences.
  config.track = track_3s.get_config()  # The weights and other settings.
  # Values of the tracker fields to sweep (tracker.SWEPT_FIELDS); the
  # settings are their product. None: config.track's value only.
  config.grid = ml_collections.ConfigDict({
      name: config_dict.placeholder(tuple) for name in (
          'scale_step', 'scale_penalty', 'scale_lr', 'window_influence')})
  config.plot_dpi = 120
  config.progress = True
  return config
