"""Dataset curation (TFDS array_record builders) and the pair loader."""
