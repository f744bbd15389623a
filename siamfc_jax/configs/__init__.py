"""ml_collections configs, one file per job; docstrings give commands."""

import pathlib

# Where the config files lie, for the --config defaults of the mains.
DIRECTORY = pathlib.Path(__file__).resolve().parent
