"""Settings shared by every config: the network and the tracker."""

import ml_collections


def model_config() -> ml_collections.ConfigDict:
  """The SiamFC network (see siamfc_jax.model.SiamFC)."""
  return ml_collections.ConfigDict(dict(
      score_gain=1e-3,  # Fixed gain of the score head; its bias is learned.
      bn_momentum=0.95,
      bn_epsilon=1e-6,
      # 'cpu_tuned': the ops of siamfc_jax/cpu_ops.py (hand-written max-pool
      # and BatchNorm gradients, barriers, split groups), measured on CPUs
      # only; 'plain': flax/lax ops; 'auto': cpu_tuned on the CPU backend.
      # Same parameters and, to float32 rounding, the same values.
      ops='auto',
      # With the CPU-tuned ops: grouped convs as plain ones (same result).
      split_groups=True,
      # 'bfloat16' computes convs in bf16 with f32 accumulation; 'float64'
      # (with conv_algorithm='im2col') is for reference runs.
      dtype='float32',
      # How convolutions are computed (siamfc_jax/conv_algorithms.py):
      # 'direct' (XLA's), 'im2col' (patches times a matrix), or rewritten
      # for speed: 'space_to_depth' (conv1), 'winograd' (the 3x3 layers)
      # or both. Same parameters and, to float rounding, the same values;
      # direct is the default on every machine (README, Speed).
      conv_algorithm='direct',
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
      # Step variants; configs/track_reference.py picks siamfc-pytorch's.
      clamp_size=True,  # False: no [min_scale, max_scale] size clamp.
      clip_center=True,  # False: the centre may leave the frame.
      # Padding: 'frame_mean', 'first_frame' (kept), 'first_frame_rounded'.
      pad_color='frame_mean',
      crop_window='subpixel',  # 'whole_pixels': side and corner rounded.
      crop_resample='bilinear',  # 'cv2_linear': cv2.resize's, bit-exact.
      upsample_method='cubic',  # Keys a=-0.5; 'cubic_cv2': cv2's a=-0.75.
      use_score_bias=True,  # False: scores are gain * xcorr, no bias.
      update_precision='float32',  # 'float64': siamfc-pytorch's NumPy update.
  ))


def tracker_fields(
    config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The tracker fields of ``config`` (a track config or a train config's
  ``tracker``); those it lacks, being written before they existed, have
  ``tracker_config()``'s defaults."""
  return ml_collections.ConfigDict({
      name: config[name] if name in config else default
      for name, default in tracker_config().items()})


def train_config() -> ml_collections.ConfigDict:
  """The paper's training recipe; data and split are set by each config."""
  tracker = tracker_config(num_scales=3)
  return ml_collections.ConfigDict(dict(
      model=model_config(),
      tracker=tracker,
      exemplar_size=tracker.exemplar_size,
      instance_size=tracker.instance_size,
      total_stride=tracker.total_stride,
      # Labels: +1 within 16 px of the centre, -1 beyond; balanced weights.
      positive_radius=16.0,
      negative_radius=16.0,
      seed=0,
      batch_size=8,
      num_epochs=50,
      pairs_per_epoch=53_200,
      lr_start=1e-2,  # Log-spaced per epoch down to lr_end.
      lr_end=1e-5,
      momentum=0.9,
      weight_decay=5e-4,
      weight_decay_on='kernels',  # Or 'all' to decay biases and BN too.
      data_dir='',  # A dataset made by `python -m data_prep.build`.
      train_videos=(),  # Empty: every video in data_dir.
      val_videos=(),  # Sequence folders under sequences_root to track.
      sequences_root='',
      eval_max_frames=None,
      loader_workers=2,
      log_every_steps=50,
      eval_every_steps=2000,
      checkpoint_every_steps=500,
      keep_checkpoints=3,
      progress=True,
  ))
