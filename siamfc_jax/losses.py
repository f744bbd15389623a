"""Label maps and the balanced logistic loss of SiamFC."""

import jax
import jax.numpy as jnp
import numpy as np


def label_map(response_size: int, stride: int, positive_radius: float,
              negative_radius: float | None = None):
  """Labels and balanced weights for a response map centred on the target.

  Cells whose distance to the map centre, in frame pixels of the search crop
  (cells times ``stride``), is at most ``positive_radius`` are +1, those
  beyond ``negative_radius`` (default: the positive radius) are -1, and any
  cells in between are 0 and carry no weight. Positives and negatives each
  carry half of the total weight: 0.5 / N_pos and 0.5 / N_neg.

  Returns:
    (labels, weights), two float32 (response_size, response_size) arrays.
  """
  if negative_radius is None:
    negative_radius = positive_radius
  if negative_radius < positive_radius:
    raise ValueError('negative_radius must be at least positive_radius')
  offsets = (np.arange(response_size) - (response_size - 1) / 2) * stride
  distance = np.hypot(offsets[:, None], offsets[None, :])
  labels = np.zeros((response_size, response_size), np.float32)
  labels[distance <= positive_radius] = 1
  labels[distance > negative_radius] = -1
  positives, negatives = labels == 1, labels == -1
  if not positives.any() or not negatives.any():
    raise ValueError(
        f'radii {positive_radius}/{negative_radius} leave no positive or no'
        f' negative cell in a {response_size}x{response_size} map')
  weights = np.zeros_like(labels)
  weights[positives] = 0.5 / positives.sum()
  weights[negatives] = 0.5 / negatives.sum()
  return labels, weights


def logistic_loss(scores: jax.Array, labels: jax.Array,
                  weights: jax.Array) -> jax.Array:
  """Mean over the batch of sum_cells weight * log(1 + exp(-label * score)).

  Args:
    scores: (..., H, W) raw scores.
    labels: (H, W) or broadcastable labels in {+1, 0, -1}.
    weights: weights broadcastable like ``labels``.
  """
  per_cell = weights * jax.nn.softplus(-labels * scores)
  per_map = jnp.sum(per_cell, axis=(-2, -1))
  return jnp.mean(per_map)
