"""SiamFC (Bertinetto et al., 2016) in JAX/Flax."""

from siamfc_jax.tracker import Tracker

__all__ = ['Tracker']
