"""siamfc-pytorch's own boxes, reproduced by configs/track_reference.py.

../shared/reference/siamfc_2016-08-17/siamfc_pytorch_boxes/ holds the boxes
that huanglianghua/siamfc-pytorch's tracker produced with the authors'
network (the int8 TFLite export, dequantised, no score bias) on five shared
sequences. With the same weights, the reference-compatible settings must
give the same boxes on every frame (the files keep two decimals, which
alone costs up to ~0.0007 IoU), while our default steps give visibly
different ones, so that these tests guard each reference option.
"""

import pathlib

import numpy as np
import pytest

from siamfc_jax import boxes
from siamfc_jax import weights
from siamfc_jax import sequences
from siamfc_jax import tracker
from siamfc_jax.configs import track_3s
from siamfc_jax.configs import track_reference

REFERENCE = (pathlib.Path(__file__).resolve().parents[2] / 'shared'
             / 'reference' / 'siamfc_2016-08-17')
SEQUENCES = ('otb_Dog', 'otb_Couple', 'vot2015_car1', 'otb_Bird2',
             'dtb70_Surfing06')
# The default steps part from the reference within a few frames; this many
# are enough to show it.
DEFAULT_FRAMES = 20

pytestmark = [pytest.mark.shared, pytest.mark.slow]


@pytest.fixture(scope='module')
def network():
  """The authors' network from the TFLite export, without its score bias."""
  weights_file = REFERENCE / 'siamfc_3s_color_int8.tflite'
  if not weights_file.is_file():
    pytest.skip(f'{weights_file} not found: the reference tests need'
                ' ../shared/reference/siamfc_2016-08-17')
  pytest.importorskip('tflite', reason='reading .tflite needs `tflite`')
  config = track_reference.get_config()
  config.checkpoint = str(weights_file)
  return weights.load_for_tracking(config)


def _track(config, variables, sequence, max_frames=None):
  sequence = sequences.truncate(sequence, max_frames)
  # The reference's network has no score bias, whatever the steps.
  config.use_score_bias = False
  result = tracker.Tracker(variables, config).track(sequence,
                                                    sequence.groundtruth[0])
  return result.boxes


def _reference_boxes(name, count=None):
  return sequences.read_boxes(REFERENCE / 'siamfc_pytorch_boxes'
                              / f'{name}.txt')[:count]


@pytest.mark.parametrize('name', SEQUENCES)
def test_reference_mode_gives_siamfc_pytorchs_boxes(name, network,
                                                    shared_sequences):
  sequence = sequences.load_folder(shared_sequences / name)
  want = _reference_boxes(name)
  got = _track(track_reference.get_config(), network, sequence)
  assert got.shape == want.shape
  overlap = boxes.iou(got, want)
  print(f'{name}: reference mode IoU mean {overlap.mean():.4f},'
        f' min {overlap.min():.4f} (frame {overlap.argmin()})')
  assert overlap.min() > 0.99, (
      f'{name}: IoU {overlap.min():.3f} at frame {overlap.argmin()}')


@pytest.mark.parametrize('name', SEQUENCES)
def test_default_steps_are_measurably_different(name, network,
                                                shared_sequences):
  sequence = sequences.load_folder(shared_sequences / name)
  want = _reference_boxes(name, DEFAULT_FRAMES)
  got = _track(track_3s.get_config(), network, sequence, DEFAULT_FRAMES)
  overlap = boxes.iou(got, want)
  print(f'{name}: default steps IoU mean {overlap.mean():.4f},'
        f' min {overlap.min():.4f} over {DEFAULT_FRAMES} frames')
  assert overlap.min() < 0.95
