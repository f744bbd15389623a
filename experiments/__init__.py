"""The command-line jobs: ``python -m experiments.<name> --config=...``.

Each job's ``main`` first appends the fast CPU XLA flags to the user's
XLA_FLAGS (siamfc_jax/xla.py), before it starts JAX.
"""
