"""OTB: one-pass evaluation of sequence folders, overall and per attribute.

Results: ``<tracker>/<seq>.txt``, one x,y,w,h per frame (the OTB text
format), and ``<tracker>/times/<seq>_time.txt``, seconds per frame.

Attributes: OTB tags each sequence with some of 11 attributes
(``ATTRIBUTES``), read in the layouts they are published in, first found
first: ``<root>/<seq>/attrs.txt``, one line of tags such as ``SV, DEF, FM``
(the OTB authors' Python toolkit); ``<root>/anno/att/<seq>.txt`` (or the
name lower-cased), the 11 0/1 flags of the OTB MATLAB toolkit, in its
column order (``TOOLKIT_COLUMNS``); or the ``attr`` lists of pysot's
``<root>/OTB100.json`` (else ``CVPR13.json``, ``OTB50.json``). A sequence
found in none has no attributes and is left out of the per-attribute
results, which are the overall OTB numbers of each attribute's sequences
(``ope.summarize_attributes``).
"""

import dataclasses
import json
import pathlib
import re

from absl import logging

from siamfc_jax import sequences
from siamfc_jax.evaluation import base
from siamfc_jax.evaluation import ope

# The 11 OTB attributes (Wu, Lim & Yang, TPAMI 2015), in the paper's order,
# named as the OTB toolkit names them (perfPlot.m).
ATTRIBUTES = {
    'IV': 'illumination variation', 'SV': 'scale variation',
    'OCC': 'occlusion', 'DEF': 'deformation', 'MB': 'motion blur',
    'FM': 'fast motion', 'IPR': 'in-plane rotation',
    'OPR': 'out-of-plane rotation', 'OV': 'out of view',
    'BC': 'background clutter', 'LR': 'low resolution',
}
# The columns of the MATLAB toolkit's anno/att/<seq>.txt.
TOOLKIT_COLUMNS = ('IV', 'OPR', 'SV', 'OCC', 'DEF', 'MB', 'FM', 'IPR', 'OV',
                   'BC', 'LR')
TAGS_FILE = 'attrs.txt'
TOOLKIT_FOLDER = ('anno', 'att')
PYSOT_FILES = ('OTB100.json', 'CVPR13.json', 'OTB50.json')


def load_folders(root, *, names=(),
                 max_frames: int | None = None) -> list[base.Entry]:
  """The sequence folders of ``root`` with ground truth, sorted by name.

  Every frame's header is opened before tracking starts
  (``sequences.check_frames``), so a bad file is reported at once.
  """
  folders = base.select(base.sequence_folders(root), names, root,
                        name=lambda folder: folder.name)
  entries = []
  for folder in folders:
    sequence = sequences.load_folder(folder, check=True)
    if sequence.groundtruth is None:
      raise sequences.SequenceError(f'{folder}: no ground truth')
    entries.append(base.Entry(sequence).truncate(max_frames))
  return entries


def _read_text(path: pathlib.Path) -> str:
  try:
    return path.read_text()
  except (OSError, UnicodeDecodeError) as e:
    raise sequences.SequenceError(f'{path}: cannot read ({e})') from None


def _in_order(tags, where) -> tuple[str, ...]:
  """``tags`` in ATTRIBUTES' order; a SequenceError names unknown ones."""
  unknown = sorted(set(tags) - set(ATTRIBUTES))
  if unknown:
    raise sequences.SequenceError(
        f'{where}: unknown attribute {", ".join(unknown)} (OTB\'s are'
        f' {", ".join(ATTRIBUTES)})')
  return tuple(tag for tag in ATTRIBUTES if tag in tags)


def read_tags(path) -> tuple[str, ...]:
  """The tags of an ``attrs.txt`` line, e.g. 'SV, DEF, FM, OPR, BC'."""
  path = pathlib.Path(path)
  return _in_order([t for t in re.split(r'[,\s]+', _read_text(path)) if t],
                   path)


def read_flags(path) -> tuple[str, ...]:
  """The tags of an OTB toolkit ``anno/att`` file: 11 flags, > 0 is set.

  The toolkit reads the file with MATLAB's ``load`` (numbers separated by
  commas or white space) and tags a sequence where a flag is > 0.
  """
  path = pathlib.Path(path)
  fields = [f for f in re.split(r'[,\s]+', _read_text(path)) if f]
  try:
    flags = [float(f) for f in fields]
  except ValueError:
    flags = []
  if len(flags) != len(TOOLKIT_COLUMNS):
    raise sequences.SequenceError(
        f'{path}: expected the OTB toolkit\'s {len(TOOLKIT_COLUMNS)} flags'
        f' ({", ".join(TOOLKIT_COLUMNS)}); got {" ".join(fields)!r}')
  return _in_order([tag for tag, flag in zip(TOOLKIT_COLUMNS, flags)
                    if flag > 0], path)


def read_pysot(path) -> dict[str, tuple[str, ...]]:
  """Sequence name -> tags, from the 'attr' lists of a pysot OTB JSON."""
  path = pathlib.Path(path)
  try:
    videos = json.loads(_read_text(path))
    tags = {name: video['attr'] for name, video in videos.items()}
    if not all(isinstance(t, list) for t in tags.values()):
      raise TypeError('an attr that is not a list')
  except (ValueError, TypeError, KeyError, AttributeError) as e:
    raise sequences.SequenceError(
        f'{path}: not a pysot OTB file ({{name: {{"attr": [...]}}}}: {e})'
    ) from None
  return {name: _in_order(t, f'{path}: {name}') for name, t in tags.items()}


def read_attributes(root, names) -> dict[str, tuple[str, ...]]:
  """The attributes of the sequences ``names`` of ``root`` that have any.

  Returns:
    name -> tags in ATTRIBUTES' order, for the sequences annotated in one
    of the layouts of the module docstring (the first found).
  """
  root = pathlib.Path(root)
  toolkit = root.joinpath(*TOOLKIT_FOLDER)
  pysot = next((root / n for n in PYSOT_FILES if (root / n).is_file()), None)
  listed = read_pysot(pysot) if pysot else {}
  found = {}
  for name in names:
    flags = next((p for p in (toolkit / f'{name}.txt',
                              toolkit / f'{name.lower()}.txt')
                  if p.is_file()), None)
    if (root / name / TAGS_FILE).is_file():
      found[name] = read_tags(root / name / TAGS_FILE)
    elif flags:
      found[name] = read_flags(flags)
    elif name in listed:
      found[name] = listed[name]
  return found


class Otb(base.Benchmark):
  """A folder of sequence folders (img/ and groundtruth.txt)."""

  name = 'otb'
  title = 'OTB one-pass evaluation (OPE)'
  definitions = ope.definitions(
      f'{ope.LEFT_OUT} (the OTB toolkit\'s numbers wherever every box is'
      ' valid); per attribute, the same over the sequences having it')

  def load(self, root, *, names=(), max_frames=None, config=None):
    del config  # No options.
    entries = load_folders(root, names=names, max_frames=max_frames)
    found = read_attributes(root, [entry.name for entry in entries])
    if not found:
      logging.warning('%s: no OTB attribute annotations (%s, %s or %s); no'
                      ' per-attribute results', root, f'<seq>/{TAGS_FILE}',
                      '/'.join((*TOOLKIT_FOLDER, '<seq>.txt')),
                      PYSOT_FILES[0])
    return [dataclasses.replace(entry, attributes=found[entry.name])
            if entry.name in found else entry for entry in entries]

  def summarize(self, results_dir, tracker, entries, config):
    """The OTB summary; with attributes, also 'attributes', 'unannotated'.

    'attributes' is ``ope.summarize_attributes``; 'unannotated' lists the
    sequences without attributes, left out of it.
    """
    del config  # No options.
    results = self.results(results_dir, tracker, entries)
    summary = ope.summarize(results)
    tags = {entry.name: entry.attributes for entry in entries
            if entry.attributes}
    if tags:
      summary['attributes'] = ope.summarize_attributes(results, tags,
                                                       ATTRIBUTES)
      summary['unannotated'] = [e.name for e in entries if e.name not in tags]
    return summary

  def results(self, results_dir, tracker, entries) -> list[ope.Sequence]:
    """The tracker's boxes and seconds of ``entries``, for ope.summarize."""
    results = []
    for entry in entries:
      boxes_path, seconds_path = self.result_paths(results_dir, tracker,
                                                   entry.name)
      results.append(ope.Sequence(
          entry.name, sequences.read_boxes(boxes_path), entry.groundtruth,
          base.read_seconds(seconds_path)))
    return results


BENCHMARK = Otb()
