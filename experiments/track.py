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
import pathlib
import sys

import jax

from absl import flags

from siamfc_jax import boxes
from siamfc_jax import weights
from siamfc_jax import cli
from siamfc_jax import configs
from siamfc_jax import demo
from siamfc_jax import files
from siamfc_jax import sequences
from siamfc_jax import track_lib
from siamfc_jax import validation
from siamfc_jax import xla

_CONFIG = cli.define_config(
    'config', str(configs.DIRECTORY / 'track_3s.py'), 'Track config file.')
_SEQUENCE = flags.DEFINE_string(
    'sequence', None, 'Sequence folder (img/ + groundtruth.txt).')
_VIDEO = flags.DEFINE_string('video', None, 'Video file to track.')
_CAMERA = flags.DEFINE_integer(
    'camera', None, 'Track live from this camera (needs --box).', lower_bound=0)
_MAX_FRAMES = flags.DEFINE_integer(
    'max_frames', None, 'Track at most this many frames.', lower_bound=1)
_GROUNDTRUTH = flags.DEFINE_string(
    'groundtruth', None, 'Box file for --video (one x,y,w,h per frame).')
_BOX = flags.DEFINE_string(
    'box', None, 'Initial box x,y,w,h (1-based); default: first ground truth.')
_OUTPUT_DIR = flags.DEFINE_string(
    'output_dir', 'runs/track', 'Folder for boxes, scores and the summary.')
_RENDER = flags.DEFINE_string(
    'render', None, 'Write an .mp4 or .gif with the boxes drawn.')
_DEMO_FRAMES = flags.DEFINE_integer(
    'demo_frames', 120, 'Length of the demo sequence.', lower_bound=1)
_PROFILE_DIR = flags.DEFINE_string(
    'profile_dir', None, 'Write a jax.profiler trace of the tracking here.')

RENDER_SUFFIXES = ('.mp4', '.gif')


def _check_flags() -> None:
  """The flags' relations, and the output folders, before any work."""
  given = [name for name, flag in (('--sequence', _SEQUENCE),
                                   ('--video', _VIDEO), ('--camera', _CAMERA))
           if flag.value is not None]
  if len(given) > 1:
    raise sequences.SequenceError(f'give one of {", ".join(given)}')
  if _GROUNDTRUTH.value and not _VIDEO.value:
    raise sequences.SequenceError(
        f'--groundtruth={_GROUNDTRUTH.value} is the box file of --video;'
        ' a --sequence folder has its own groundtruth.txt')
  if _CAMERA.value is not None and not _BOX.value:
    raise sequences.SequenceError('--camera needs the initial box, --box')
  if _RENDER.value:
    render = pathlib.Path(_RENDER.value)
    if render.suffix.lower() not in RENDER_SUFFIXES:
      raise sequences.SequenceError(
          f'--render={render}: render to a file ending in'
          f' {" or ".join(RENDER_SUFFIXES)}')
    files.check_folder(render.parent, what='--render')
  files.check_folder(_OUTPUT_DIR.value, what='--output_dir')
  if _PROFILE_DIR.value:
    files.check_folder(_PROFILE_DIR.value, what='--profile_dir')


def _load_sequence() -> sequences.Sequence:
  if _SEQUENCE.value:
    # Every frame's header is read now: a bad file stops the job before
    # tracking rather than at its turn.
    return sequences.load_folder(_SEQUENCE.value, check=True)
  if _VIDEO.value:
    return sequences.load_video(_VIDEO.value, _GROUNDTRUTH.value)
  if _CAMERA.value is not None:
    return sequences.load_camera(_CAMERA.value)
  return demo.demo_sequence(_DEMO_FRAMES.value)


def _source() -> str:
  """How the user named the frames, for messages."""
  return (_SEQUENCE.value or _VIDEO.value
          or (f'camera {_CAMERA.value}' if _CAMERA.value is not None
              else 'demo'))


def _initial_box(sequence: sequences.Sequence):
  """The box to start from, checked against the first frame, and the
  sequence, whose reading continues after that frame."""
  if _BOX.value:
    box, where = sequences.parse_box(_BOX.value), '--box'
  elif sequence.groundtruth is None:
    missing = (f'no {" or ".join(sequences.GROUNDTRUTH_NAMES)}, so'
               if _SEQUENCE.value else 'no --groundtruth box file, so')
    raise sequences.SequenceError(
        f'{_source()}: {missing} the initial box is needed: give'
        ' --box=x,y,w,h (1-based)')
  else:
    box = sequence.groundtruth[0]
    where = (f'{sequence.groundtruth_file}:1' if sequence.groundtruth_file
             else 'first ground-truth box')
  first, sequence = sequences.read_first(sequence)
  if first is None:
    raise sequences.SequenceError(f'{_source()}: no frames')
  return boxes.check_box(box, first.shape, where=where), sequence


def main(argv):
  del argv  # cli.run allows none.
  xla.use_fast_cpu_flags()
  config = _CONFIG.value
  validation.check_track(config)
  _check_flags()
  sequence = sequences.truncate(_load_sequence(), _MAX_FRAMES.value)
  box, sequence = _initial_box(sequence)
  profile = (jax.profiler.trace(_PROFILE_DIR.value) if _PROFILE_DIR.value
             else contextlib.nullcontext())
  stop = track_lib.Stop()
  with profile, cli.on_ctrl_c(
      stop.request, message='stopping after this frame, to write the frames'
      ' tracked'):
    record = track_lib.track_sequence(
        config, sequence, init_box=box, output_dir=_OUTPUT_DIR.value,
        render_path=_RENDER.value, stop=stop)
  fps = f'{record["fps"]:.1f} fps' if record['fps'] else 'fps unknown'
  print(f'{record["sequence"]}: {record["frames"]} frames, {fps},'
        f' weights: {record["weights"]}')
  if 'success_auc' in record:
    print(f'success AUC {record["success_auc"]:.3f},'
          f' precision@20px {record["precision_20px"]:.3f}'
          + (f' (the first {record["frames"]} frames)'
             if record['interrupted'] else ''))
  print(f'results in {_OUTPUT_DIR.value}')
  if _PROFILE_DIR.value:
    print(f'profile in {_PROFILE_DIR.value}')
  if record['interrupted']:
    print(f'interrupted after {record["frames"]} frames; their results are'
          ' written', file=sys.stderr)
    sys.exit(cli.INTERRUPTED)


def run():
  """Console entry point (siamfc-track)."""
  cli.run(main, errors=(sequences.SequenceError, boxes.BoxError,
                        weights.WeightsError))


if __name__ == '__main__':
  run()
