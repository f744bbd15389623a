"""The paper's recipe on the GOT-10k training split.

  python -m data_prep.build --source=got10k --root=/data/GOT-10k \
      --out=runs/data/got10k
  python -m experiments.train --config=siamfc_jax/configs/train_got10k.py \
      --workdir=runs/train_got10k

Same schedule as train_vid.py (50 epochs of 53,200 pairs, batch 8).
"""

import ml_collections

from siamfc_jax.configs import train_vid


def get_config() -> ml_collections.ConfigDict:
  config = train_vid.get_config()
  config.data_dir = 'runs/data/got10k'
  return config
