"""Tracking as huanglianghua/siamfc-pytorch does, for comparing boxes.

Every step that siamfc-pytorch's TrackerSiamFC does differently is switched
to its way (docs/fidelity.md, "Differences to mend"): crops padded with the
first frame's mean colour rounded to integers, windows of whole pixels
resized with cv2.resize's fixed-point bilinear (bit-exact), scores upsampled
with cv2's bicubic (a = -0.75), no centre clip, no size clamp, scores
without a bias (its head is 0.001 * xcorr), and the centre, size and search
side updated in float64 as its NumPy code does. The weights are the authors'
network as the int8 TFLite export in ../shared (needs the `tflite` package).

Command (one of the five sequences with siamfc-pytorch's own boxes):
  python -m experiments.track --config=siamfc_jax/configs/track_reference.py \
      --sequence=../shared/data/sequences/otb_Dog --output_dir=runs/reference

Expected: "success AUC 0.421, precision@20px 0.929", and
runs/reference/otb_Dog.txt byte for byte the same as
../shared/reference/siamfc_2016-08-17/siamfc_pytorch_boxes/otb_Dog.txt (both
keep two decimals). So for the other four sequences there: otb_Couple (AUC
0.680), vot2015_car1 (0.666), otb_Bird2 (0.734), dtb70_Surfing06 (0.611).
tests/test_reference_boxes.py checks IoU > 0.99 on every frame.
"""

import pathlib

import ml_collections

from siamfc_jax.configs import track_3s

REFERENCE = (pathlib.Path(__file__).resolve().parents[3] / 'shared'
             / 'reference' / 'siamfc_2016-08-17')


def get_config() -> ml_collections.ConfigDict:
  config = track_3s.get_config()
  config.checkpoint = str(REFERENCE / 'siamfc_3s_color_int8.tflite')
  config.pad_color = 'first_frame_rounded'
  config.crop_window = 'whole_pixels'
  config.crop_resample = 'cv2_linear'
  config.upsample_method = 'cubic_cv2'
  config.clip_center = False
  config.clamp_size = False
  config.use_score_bias = False
  config.update_precision = 'float64'
  return config
