"""Tables, plots and Markdown/HTML reports of an evaluation summary.

A summary is what siamfc_jax.evaluation.summarize returns. What a report
shows of it (title, metric definitions, table columns, plots) comes from
the benchmark object (siamfc_jax.evaluation.base.Benchmark): nothing here
depends on which benchmark it is. Plots follow the papers and toolkits: one
line per tracker, labelled with its score, best first. Figures are drawn
without pyplot, so PNGs are rendered by matplotlib's Agg backend whatever
the default backend is; no display is needed.

A summary whose trackers carry per-attribute results ('attributes', as
siamfc_jax.evaluation.ope.summarize_attributes gives them) also gets a
table, one success and one precision figure with a panel per attribute,
and ``attributes.json``.
"""

import html
import io
import math
import pathlib
from typing import NamedTuple

import matplotlib.figure
import numpy as np

from siamfc_jax import files
from siamfc_jax import metrics
from siamfc_jax import records

FPS_NOTE = ('FPS: frames per second after the first two frames of each'
            ' sequence (initialisation and, for SiamFC, compilation).')
ATTRIBUTES_FILE = 'attributes.json'
ATTRIBUTE_COLUMNS = (('success_auc', 'AUC'), ('precision_20px', 'P@20'))


class OpePlot(NamedTuple):
  """One OTB-style plot: the score in the legend and the curve drawn."""

  kind: str  # File names: <kind>_plot.png, attribute_<kind>_plots.png.
  score: str
  curve: str
  thresholds: object
  title: str
  xlabel: str
  ylabel: str


OPE_PLOTS = (
    OpePlot('success', 'success_auc', 'success_curve',
            metrics.SUCCESS_THRESHOLDS, 'Success plots of OPE',
            'Overlap threshold', 'Success rate'),
    OpePlot('precision', 'precision_20px', 'precision_curve',
            metrics.PRECISION_THRESHOLDS, 'Precision plots of OPE',
            'Location error threshold (pixels)', 'Precision'),
)


def number(value, digits: int = 3) -> str:
  """``value`` to ``digits`` decimals; 'n/a' if missing or not finite."""
  if value is None or not np.isfinite(value):
    return 'n/a'
  return f'{value:.{digits}f}'


def overall_table(summary: dict,
                  benchmark) -> tuple[list[str], list[list[str]]]:
  """(header, rows) of the overall numbers, one row per tracker."""
  keys = [key for key, _ in benchmark.overall_columns]
  rows = [[name, *(number(result['overall'].get(k)) for k in keys),
           number(result['overall'].get('fps'), digits=1)]
          for name, result in summary['trackers'].items()]
  return ['Tracker', *(h for _, h in benchmark.overall_columns), 'FPS'], rows


def sequence_table(summary: dict,
                   benchmark) -> tuple[list[str], list[list[str]]]:
  """(header, rows) per sequence, one column per tracker."""
  keys = [key for key, _ in benchmark.sequence_columns]
  label = ' / '.join(header for _, header in benchmark.sequence_columns)
  trackers = summary['trackers']
  header = ['Sequence', 'Frames', *(f'{n} {label}' for n in trackers)]
  rows = []
  for sequence in summary['sequences']:
    frames = next(iter(trackers.values()))['sequences'][sequence]['frames']
    cells = [' / '.join(number(result['sequences'][sequence].get(k))
                        for k in keys) for result in trackers.values()]
    rows.append([sequence, str(frames), *cells])
  return header, rows


def markdown_table(header, rows) -> str:
  lines = ['| ' + ' | '.join(header) + ' |',
           '|' + '|'.join('---' for _ in header) + '|']
  lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
  return '\n'.join(lines)


def overall_text(summary: dict, report_path, benchmark) -> str:
  """What the evaluation jobs print: the overall table, then the report.

  With per-attribute results, the path of attributes.json follows.
  """
  text = (markdown_table(*overall_table(summary, benchmark))
          + f'\nreport: {report_path}')
  if attribute_results(summary):
    path = pathlib.Path(report_path).parent / ATTRIBUTES_FILE
    text += f'\nattributes: {path}'
  return text


def _html_table(header, rows) -> str:
  cells = lambda tag, row: ''.join(  # noqa: E731
      f'<{tag}>{html.escape(c)}</{tag}>' for c in row)
  body = ''.join(f'<tr>{cells("td", row)}</tr>' for row in rows)
  return f'<table><tr>{cells("th", header)}</tr>{body}</table>'


def _draw(axes, x, lines, *, title: str, xlabel: str, ylabel: str,
          span=None) -> None:
  """``lines`` [(label, score, y)] on ``axes``, best score first."""
  if span is not None:
    axes.axvspan(*span, color='0.9')
  for label, _, y in sorted(lines, key=lambda line: -np.nan_to_num(line[1])):
    axes.plot(x, y, label=label, linewidth=1.5)
  axes.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(x[0], x[-1]),
           ylim=(0, 1))
  axes.grid(True, alpha=0.4)
  axes.legend(loc='best', fontsize='small')


def save_figure(figure, path: pathlib.Path, dpi: int) -> None:
  """Writes ``figure`` as a PNG, atomically (files.write_bytes)."""
  buffer = io.BytesIO()
  figure.savefig(buffer, format='png', dpi=dpi, bbox_inches='tight')
  files.write_bytes(path, buffer.getvalue())


def plot(path: pathlib.Path, x, lines, *, title: str, xlabel: str,
         ylabel: str, dpi: int, span=None) -> None:
  """Writes a PNG of ``lines`` [(label, score, y)], best score first."""
  figure = matplotlib.figure.Figure(figsize=(6, 4.5))
  _draw(figure.subplots(), x, lines, title=title, xlabel=xlabel,
        ylabel=ylabel, span=span)
  save_figure(figure, path, dpi)


def scored_lines(results: dict, spec: OpePlot) -> list:
  """[(label, score, curve)] of {tracker: numbers}, for ``_draw``.

  Labelled as the OTB toolkit's legends (plotDrawSave.m): 'name [0.xxx]'.
  """
  return [(f'{name} [{r[spec.score]:.3f}]', r[spec.score], r[spec.curve])
          for name, r in results.items()]


def ope_plots(summary: dict, folder, *, dpi: int) -> list[str]:
  """OTB-style success and precision plots; returns their file names.

  Drawn from each tracker's overall 'success_curve' and 'precision_curve'
  (siamfc_jax.evaluation.ope.summarize).
  """
  folder = pathlib.Path(folder)
  overall = {n: r['overall'] for n, r in summary['trackers'].items()}
  if not overall:
    return []
  names = []
  for spec in OPE_PLOTS:
    names.append(f'{spec.kind}_plot.png')
    plot(folder / names[-1], spec.thresholds, scored_lines(overall, spec),
         title=spec.title, xlabel=spec.xlabel, ylabel=spec.ylabel, dpi=dpi)
  return names


# Per attribute.


def attribute_results(summary: dict) -> dict:
  """The trackers' per-attribute results, by attribute (attributes.json).

  Returns:
    {} if no tracker has any; else {'attributes': {tag: {'name',
    'sequences', 'trackers': {tracker: {'success_auc', 'precision_20px',
    'success_curve', 'precision_curve'}}}}, 'unannotated': [sequences left
    out], 'success_thresholds', 'precision_thresholds'}.
  """
  trackers = {name: result for name, result in summary['trackers'].items()
              if result.get('attributes')}
  if not trackers:
    return {}
  first = next(iter(trackers.values()))  # All score the same sequences.
  attributes = {
      tag: dict(name=entry['name'], sequences=entry['sequences'], trackers={
          name: {k: v for k, v in result['attributes'][tag].items()
                 if k not in ('name', 'sequences')}
          for name, result in trackers.items()})
      for tag, entry in first['attributes'].items()}
  return dict(attributes=attributes,
              unannotated=list(first.get('unannotated', [])),
              success_thresholds=metrics.SUCCESS_THRESHOLDS.tolist(),
              precision_thresholds=metrics.PRECISION_THRESHOLDS.tolist())


def attribute_table(by_attribute: dict) -> tuple[list[str], list[list[str]]]:
  """(header, rows): one row per attribute, one column per tracker."""
  attributes = by_attribute['attributes']
  trackers = list(next(iter(attributes.values()))['trackers'])
  label = ' / '.join(header for _, header in ATTRIBUTE_COLUMNS)
  header = ['Attribute', 'Sequences', *(f'{n} {label}' for n in trackers)]
  rows = [[f'{tag} ({entry["name"]})', str(len(entry['sequences'])),
           *(' / '.join(number(entry['trackers'][n][k])
                        for k, _ in ATTRIBUTE_COLUMNS) for n in trackers)]
          for tag, entry in attributes.items()]
  return header, rows


def attribute_figure(by_attribute: dict, spec: OpePlot):
  """A figure of ``spec`` plots, one panel per attribute.

  Each panel is titled as the OTB toolkit titles its attribute plots,
  'name (number of sequences)', under the figure's title.
  """
  attributes = by_attribute['attributes']
  columns = min(4, len(attributes))
  rows = math.ceil(len(attributes) / columns)
  figure = matplotlib.figure.Figure(figsize=(4.5 * columns, 3.6 * rows))
  panels = figure.subplots(rows, columns, squeeze=False).ravel()
  for axes, entry in zip(panels, attributes.values()):
    _draw(axes, spec.thresholds, scored_lines(entry['trackers'], spec),
          title=f'{entry["name"]} ({len(entry["sequences"])})',
          xlabel=spec.xlabel, ylabel=spec.ylabel)
  for axes in panels[len(attributes):]:
    axes.set_axis_off()
  figure.suptitle(spec.title)
  figure.tight_layout()
  return figure


def attribute_plots(by_attribute: dict, folder, *, dpi: int) -> list[str]:
  """Writes the per-attribute success and precision figures; their names."""
  names = []
  for spec in OPE_PLOTS:
    names.append(f'attribute_{spec.kind}_plots.png')
    save_figure(attribute_figure(by_attribute, spec), pathlib.Path(folder)
          / names[-1], dpi)
  return names


def _attribute_blocks(summary: dict, folder: pathlib.Path, *,
                      dpi: int) -> list:
  """Writes attributes.json and the figures; the report's blocks of them."""
  by_attribute = attribute_results(summary)
  if not by_attribute:
    return []
  records.write_json(folder / ATTRIBUTES_FILE, by_attribute)
  blocks = [('h2', 'Per attribute'),
            ('p', 'The overall numbers of the sequences having each'
                  f' attribute (all in {ATTRIBUTES_FILE}).'),
            ('table', *attribute_table(by_attribute))]
  blocks += [('img', name)
             for name in attribute_plots(by_attribute, folder, dpi=dpi)]
  if by_attribute['unannotated']:
    blocks.append(('p', 'Without attribute annotations, left out of these: '
                        + ', '.join(by_attribute['unannotated']) + '.'))
  return blocks


def write_report(summary: dict, folder, *, benchmark, config,
                 details: dict, html_too: bool, dpi: int) -> pathlib.Path:
  """Writes summary plots, ``report.md`` and optionally ``report.html``.

  Args:
    summary: from siamfc_jax.evaluation.summarize.
    folder: the results folder.
    benchmark: the summary's siamfc_jax.evaluation.base.Benchmark: its
      title, definitions (formatted with ``config``), columns and plots.
    config: the evaluation config.
    details: name -> value lines shown under the title (root, weights...).
    html_too: also write report.html.
    dpi: plot resolution.

  Returns:
    The path of report.md.
  """
  folder = pathlib.Path(folder)
  images = (benchmark.plots(summary, folder, dpi=dpi, config=config)
            if summary['trackers'] else [])
  blocks = [('h1', f'Evaluation: {benchmark.title}')]
  blocks += [('p', f'{key}: {value}') for key, value in details.items()]
  definitions = benchmark.definitions.format_map(config)
  blocks.append(('p', f'{definitions} {FPS_NOTE}'))
  if summary['trackers']:
    blocks += [('h2', 'Overall'),
               ('table', *overall_table(summary, benchmark))]
    blocks += [('img', name) for name in images]
    blocks += _attribute_blocks(summary, folder, dpi=dpi)
    blocks += [('h2', 'Per sequence'),
               ('table', *sequence_table(summary, benchmark))]
  if summary['incomplete']:
    blocks.append(('h2', 'Incomplete (left out)'))
    blocks += [('p', f'{name}: {done} of {len(summary["sequences"])}'
                     ' sequences done') for name, done in
               summary['incomplete'].items()]

  markdown, body = [], []
  for kind, *content in blocks:
    if kind == 'table':
      markdown.append(markdown_table(*content))
      body.append(_html_table(*content))
    elif kind == 'img':
      markdown.append(f'![{content[0]}]({content[0]})')
      body.append(f'<img src="{html.escape(content[0])}" alt="">')
    else:
      prefix = {'h1': '# ', 'h2': '## ', 'p': ''}[kind]
      markdown.append(prefix + content[0])
      body.append(f'<{kind}>{html.escape(content[0])}</{kind}>')
  path = folder / 'report.md'
  files.write_text(path, '\n\n'.join(markdown) + '\n')
  if html_too:
    files.write_text(
        folder / 'report.html',
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>'
        f'{html.escape(benchmark.title)}</title><style>'
        'table{border-collapse:collapse}td,th{border:1px solid #999;'
        'padding:2px 6px}</style></head><body>' + ''.join(body)
        + '</body></html>\n')
  return path
