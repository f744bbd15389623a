"""Settings shared by every config: the network and the tracker."""

import ml_collections


def model_config() -> ml_collections.ConfigDict:
  """The SiamFC network (see siamfc_jax.model.SiamFC)."""
  return ml_collections.ConfigDict(dict(
      score_gain=1e-3,  # Fixed gain of the score head; its bias is learned.
      bn_momentum=0.95,
      bn_epsilon=1e-6,
      split_groups=True,  # Same result as grouped convs, faster on CPU.
      dtype='float32',  # 'bfloat16' computes convs in bf16, f32 accumulate.
  ))


def tracker_config(num_scales: int = 3) -> ml_collections.ConfigDict:
  """Tracking hyper-parameters of the paper for 3 or 5 scales."""
  per_scales = {
      3: dict(scale_step=1.0375, scale_penalty=0.9745, scale_lr=0.59,
              window_influence=0.176),
      5: dict(scale_step=1.0255, scale_penalty=0.962, scale_lr=0.34,
              window_influence=0.168),
  }
  return ml_collections.ConfigDict(dict(
      num_scales=num_scales,
      **per_scales[num_scales],
      exemplar_size=127,
      instance_size=255,
      context=0.5,  # Context margin p = context * (w + h).
      total_stride=8,
      response_upsample=16,  # 17x17 scores are upsampled to 272x272.
      min_scale=0.2,  # Target size is clamped to [min, max] x initial size.
      max_scale=5.0,
  ))
