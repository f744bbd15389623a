"""The SiamFC pair augmentations, applied to stored crops (PIL, no JAX).

A view of a stored crop is a window centred on the crop's centre plus a
translation, whose output pixels lie ``scale`` stored pixels apart on each
axis (so a scale differing per axis stretches the target). It is resampled
bilinearly with the convention of siamfc_jax.crops: output pixel ``i`` samples
``centre + shift + (i - (out_size - 1) / 2) * scale``; the part outside the
stored crop takes the crop's mean colour.
"""

import dataclasses

import numpy as np
from PIL import Image
from PIL import ImageStat


@dataclasses.dataclass(frozen=True)
class View:
  """Where a view samples a stored crop: per-axis (y, x) scale and shift."""

  scale: tuple[float, float]
  shift: tuple[float, float]


def random_view(rng: np.random.Generator, *, base_scale: float,
                stretch: float, translation: float) -> View:
  """A random view: stretched and translated independently on each axis.

  Args:
    rng: the random generator.
    base_scale: the scale without stretch.
    stretch: each axis's scale is base_scale * U(1 - stretch, 1 + stretch).
    translation: each axis's shift is U(-translation, translation) pixels.

  Returns:
    The view.
  """
  scale = base_scale * (1 + rng.uniform(-stretch, stretch, size=2))
  shift = rng.uniform(-translation, translation, size=2)
  return View(scale=(float(scale[0]), float(scale[1])),
              shift=(float(shift[0]), float(shift[1])))


def cut(image: Image.Image, view: View, out_size: int) -> Image.Image:
  """Resamples one view of an RGB image to ``out_size`` x ``out_size``."""
  (scale_y, scale_x), (shift_y, shift_x) = view.scale, view.shift
  # PIL maps output pixel centres x + 0.5 to input coordinates where pixel k
  # is centred at k + 0.5; these offsets give the crops convention above.
  offset_x = (image.width - 1) / 2 + shift_x + 0.5 - scale_x * out_size / 2
  offset_y = (image.height - 1) / 2 + shift_y + 0.5 - scale_y * out_size / 2
  fill = tuple(round(v) for v in ImageStat.Stat(image).mean)
  return image.transform(
      (out_size, out_size), Image.Transform.AFFINE,
      (scale_x, 0, offset_x, 0, scale_y, offset_y),
      resample=Image.Resampling.BILINEAR, fillcolor=fill)


def grayscale(image: Image.Image) -> Image.Image:
  """The image in grey, still with three channels."""
  return image.convert('L').convert('RGB')
