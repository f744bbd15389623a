"""Tracks a sequence folder, a video file, or the built-in demo sequence.

  python -m experiments.track                      # the demo sequence
  python -m experiments.track --sequence=path/to/Basketball
  python -m experiments.track --video=in.mp4 --box=x,y,w,h --render=out.mp4
  python -m experiments.track --camera=0 --box=x,y,w,h --max_frames=300
  python -m experiments.track --config=siamfc_jax/configs/track_5s.py \
      --config.checkpoint=weights.msgpack
  python -m experiments.track --profile_dir=runs/profile  # jax.profiler

A profile holds a trace of every compilation and device call of the run:
open its *.trace.json.gz in Perfetto (ui.perfetto.dev) or the folder in
TensorBoard's profile plugin.
"""

import contextlib
import sys

import jax

from absl import app
from absl import flags
from ml_collections import config_flags

from siamfc_jax import boxes
from siamfc_jax import checkpoints
from siamfc_jax import configs
from siamfc_jax import demo
from siamfc_jax import sequences
from siamfc_jax import track_lib

_CONFIG = config_flags.DEFINE_config_file(
    'config', str(configs.DIRECTORY / 'track_3s.py'), 'Track config file.')
_SEQUENCE = flags.DEFINE_string(
    'sequence', None, 'Sequence folder (img/ + groundtruth.txt).')
_VIDEO = flags.DEFINE_string('video', None, 'Video file to track.')
_CAMERA = flags.DEFINE_integer(
    'camera', None, 'Track live from this camera (needs --box).')
_MAX_FRAMES = flags.DEFINE_integer(
    'max_frames', None, 'Track at most this many frames.')
_GROUNDTRUTH = flags.DEFINE_string(
    'groundtruth', None, 'Box file for --video (one x,y,w,h per frame).')
_BOX = flags.DEFINE_string(
    'box', None, 'Initial box x,y,w,h (1-based); default: first ground truth.')
_OUTPUT_DIR = flags.DEFINE_string(
    'output_dir', 'runs/track', 'Folder for boxes, scores and the summary.')
_RENDER = flags.DEFINE_string(
    'render', None, 'Write an .mp4 or .gif with the boxes drawn.')
_DEMO_FRAMES = flags.DEFINE_integer(
    'demo_frames', 120, 'Length of the demo sequence.')
_PROFILE_DIR = flags.DEFINE_string(
    'profile_dir', None, 'Write a jax.profiler trace of the tracking here.')


def _load_sequence() -> sequences.Sequence:
  given = [name for name, flag in (('--sequence', _SEQUENCE),
                                   ('--video', _VIDEO), ('--camera', _CAMERA))
           if flag.value is not None]
  if len(given) > 1:
    raise sequences.SequenceError(f'give one of {", ".join(given)}')
  if _SEQUENCE.value:
    return sequences.load_folder(_SEQUENCE.value)
  if _VIDEO.value:
    return sequences.load_video(_VIDEO.value, _GROUNDTRUTH.value)
  if _CAMERA.value is not None:
    if not _BOX.value:
      raise sequences.SequenceError('--camera needs the initial box, --box')
    return sequences.load_camera(_CAMERA.value)
  return demo.demo_sequence(_DEMO_FRAMES.value)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  try:
    sequence = sequences.truncate(_load_sequence(), _MAX_FRAMES.value)
    box = sequences.parse_box(_BOX.value) if _BOX.value else None
    profile = (jax.profiler.trace(_PROFILE_DIR.value) if _PROFILE_DIR.value
               else contextlib.nullcontext())
    with profile:
      record = track_lib.track_sequence(
          _CONFIG.value, sequence, init_box=box,
          output_dir=_OUTPUT_DIR.value, render_path=_RENDER.value)
  except (sequences.SequenceError, boxes.BoxError,
          checkpoints.WeightsError) as e:
    sys.exit(f'error: {e}')
  print(f'{record["sequence"]}: {record["frames"]} frames,'
        f' {record["fps"]:.1f} fps, weights: {record["weights"]}')
  if 'success_auc' in record:
    print(f'success AUC {record["success_auc"]:.3f},'
          f' precision@20px {record["precision_20px"]:.3f}')
  print(f'results in {_OUTPUT_DIR.value}')
  if _PROFILE_DIR.value:
    print(f'profile in {_PROFILE_DIR.value}')


def run():
  """Console entry point (siamfc-track)."""
  app.run(main)


if __name__ == '__main__':
  run()
