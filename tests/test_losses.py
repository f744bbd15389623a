"""Tests of the SiamFC label maps and balanced logistic loss."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from siamfc_jax import losses


def cells_within(radius_cells: float, size: int = 17) -> np.ndarray:
  """Boolean map of cells whose offset (di, dj) has di^2 + dj^2 <= r^2."""
  offsets = np.arange(size) - (size - 1) // 2
  return offsets[:, None]**2 + offsets[None, :]**2 <= radius_cells**2


def test_label_map_siamfc_default():
  labels, weights = losses.label_map(17, 8, 16)
  assert labels.shape == weights.shape == (17, 17)
  assert labels.dtype == weights.dtype == np.float32
  positive = labels == 1
  # Offsets (0,0), (+-1,0), (0,+-1), (+-1,+-1), (+-2,0), (0,+-2).
  assert positive.sum() == 13
  np.testing.assert_array_equal(positive, cells_within(2))
  expected_positive = np.zeros((17, 17), bool)
  for di, dj in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1),
                 (-1, 1), (-1, -1), (2, 0), (-2, 0), (0, 2), (0, -2)]:
    expected_positive[8 + di, 8 + dj] = True
  np.testing.assert_array_equal(positive, expected_positive)
  np.testing.assert_array_equal(labels[~positive], -1)
  assert set(np.unique(labels).tolist()) == {-1.0, 1.0}
  np.testing.assert_allclose(weights[positive], 0.5 / 13)
  np.testing.assert_allclose(weights[~positive], 0.5 / 276)
  np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-6)


def test_label_map_neutral_band():
  # Positive within 2 cells, negative beyond 3 cells, neutral in between.
  labels, weights = losses.label_map(17, 8, 16, 24)
  positive = cells_within(2)
  neutral = cells_within(3) & ~positive
  # (+-2,+-1), (+-1,+-2), (+-2,+-2), (+-3,0), (0,+-3).
  assert neutral.sum() == 16
  np.testing.assert_array_equal(labels[positive], 1)
  np.testing.assert_array_equal(labels[neutral], 0)
  np.testing.assert_array_equal(weights[neutral], 0)
  np.testing.assert_array_equal(labels[~cells_within(3)], -1)
  np.testing.assert_allclose(weights[positive], 0.5 / 13)
  np.testing.assert_allclose(weights[labels == -1], 0.5 / 260)
  np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-6)


def test_label_map_even_size_has_no_centre_cell():
  # 4x4, stride 8: offsets -12, -4, 4, 12; the four middle cells are at
  # distance sqrt(32) ~ 5.66.
  labels, weights = losses.label_map(4, 8, 6)
  expected = -np.ones((4, 4), np.float32)
  expected[1:3, 1:3] = 1
  np.testing.assert_array_equal(labels, expected)
  np.testing.assert_allclose(weights[1:3, 1:3], 0.5 / 4)
  np.testing.assert_allclose(weights[labels == -1], 0.5 / 12)


def test_label_map_radius_is_inclusive():
  # A radius exactly on a cell distance (8 px = 1 cell) includes that cell.
  labels, _ = losses.label_map(5, 8, 8)
  np.testing.assert_array_equal(labels == 1, cells_within(1, 5))
  assert (labels == 1).sum() == 5


@pytest.mark.parametrize('positive_radius,negative_radius', [
    (16, 8),  # Negative radius inside the positive one.
    (-1, None),  # No positive cell.
    (1000, None),  # No negative cell.
    (16, 1000),  # Neutral band swallows every negative cell.
])
def test_label_map_invalid_radii_raise(positive_radius, negative_radius):
  with pytest.raises(ValueError):
    losses.label_map(17, 8, positive_radius, negative_radius)


def test_logistic_loss_zero_scores_is_log2():
  labels, weights = losses.label_map(17, 8, 16)
  loss = losses.logistic_loss(jnp.zeros((4, 17, 17)), labels, weights)
  np.testing.assert_allclose(float(loss), math.log(2), rtol=1e-5)
  # Leading axes (batch, scales) are averaged the same way.
  loss = losses.logistic_loss(jnp.zeros((2, 3, 17, 17)), labels, weights)
  np.testing.assert_allclose(float(loss), math.log(2), rtol=1e-5)


def test_logistic_loss_hand_computed_cells():
  labels = np.array([[1, -1], [0, 1]], np.float32)
  weights = np.array([[0.5, 0.25], [0.0, 0.25]], np.float32)
  scores = np.array([[2.0, 1.0], [5.0, -3.0]], np.float32)
  want = (0.5 * math.log1p(math.exp(-2.0)) + 0.25 * math.log1p(math.exp(1.0))
          + 0.25 * math.log1p(math.exp(3.0)))
  got = losses.logistic_loss(jnp.asarray(scores), labels, weights)
  np.testing.assert_allclose(float(got), want, rtol=1e-6)


def test_logistic_loss_neutral_cell_with_weight_counts_log2():
  # The loss itself does not drop label-0 cells: their term is
  # weight * log(1 + exp(0)) = weight * log 2, so label_map gives them 0.
  got = losses.logistic_loss(jnp.array([[7.0]]), np.array([[0.0]]),
                             np.array([[0.5]]))
  np.testing.assert_allclose(float(got), 0.5 * math.log(2), rtol=1e-6)


def test_logistic_loss_is_batch_mean():
  labels = np.array([[1.0, -1.0]], np.float32)
  weights = np.array([[0.5, 0.5]], np.float32)
  scores = np.array([[[0.0, 0.0]], [[3.0, -3.0]], [[-1.0, 2.0]]], np.float32)
  per_map = [0.5 * math.log1p(math.exp(-s[0, 0]))
             + 0.5 * math.log1p(math.exp(s[0, 1])) for s in scores]
  got = losses.logistic_loss(jnp.asarray(scores), labels, weights)
  np.testing.assert_allclose(float(got), np.mean(per_map), rtol=1e-6)
  for b in range(3):
    single = losses.logistic_loss(jnp.asarray(scores[b]), labels, weights)
    np.testing.assert_allclose(float(single), per_map[b], rtol=1e-6)


def test_logistic_loss_perfect_and_wrong_scores():
  labels, weights = losses.label_map(17, 8, 16)
  confident = losses.logistic_loss(jnp.asarray(labels * 50), labels, weights)
  assert 0 <= float(confident) < 1e-20
  # Very wrong scores: softplus(50) ~ 50 per unit of weight, no overflow.
  wrong = losses.logistic_loss(jnp.asarray(labels * -1000), labels, weights)
  np.testing.assert_allclose(float(wrong), 1000.0, rtol=1e-5)


def test_logistic_loss_gradient_is_finite_and_signed():
  labels, weights = losses.label_map(17, 8, 16)
  scores = jnp.zeros((2, 17, 17))
  grad = jax.jit(jax.grad(losses.logistic_loss))(scores, labels, weights)
  grad = np.asarray(grad)
  assert np.all(np.isfinite(grad))
  # d/ds w * softplus(-y s) at s = 0 is -w y / 2, averaged over 2 maps.
  np.testing.assert_allclose(grad[0], -weights * labels / 4, rtol=1e-6)
  np.testing.assert_allclose(grad[1], grad[0])
