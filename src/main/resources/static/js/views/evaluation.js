// #/evaluations/{id}: progress, per-arm metrics with intervals, charts, paired tests and which arm is better.

import {download, get} from '../api.js';
import {overheadScatter, intervalChart} from '../charts.js';
import {h, replace} from '../dom.js';
import {duration, interval, num, time} from '../format.js';
import {armLabel, baselineArm, formatP, headline, headlineMetric, overhead, verdict} from '../stats.js';
import {cancel, isOpen, progressBar} from './evaluations.js';

function metricsTable(report) {
  const names = Object.keys(report.arms[0]?.metrics ?? {});
  const base = baselineArm(report.arms);
  return h('div', {class: 'scroll'}, h('table', {id: 'arm-metrics'},
    h('thead', {}, h('tr', {},
      h('th', {}, 'arm'), h('th', {}, 'items'), names.map(m => h('th', {}, m)),
      h('th', {}, 'latency p50 / p95 (ms)'), h('th', {}, 'tokens/s'), h('th', {}, 'tokens'),
      h('th', {}, 'visual attention'), h('th', {title: `seconds per token / ${armLabel(base)}'s`}, 'overhead'))),
    h('tbody', {}, report.arms.map(a => h('tr', {'data-arm': a.arm},
      h('td', {}, armLabel(a)),
      h('td', {class: 'num'}, a.n),
      names.map(m => h('td', {class: 'num', 'data-metric': m}, interval(a.metrics[m]))),
      h('td', {class: 'num'}, `${num(a.latency_p50_ms, 1)} / ${num(a.latency_p95_ms, 1)}`),
      h('td', {class: 'num'}, num(a.mean_tokens_per_second, 1)),
      h('td', {class: 'num'}, num(a.mean_tokens, 2)),
      h('td', {class: 'num'}, num(a.visual_attention_ratio)),
      h('td', {class: 'num'}, overhead(a, base) === null ? '–' : `${num(overhead(a, base), 2)}×`))))));
}

function charts(report, kind) {
  const names = Object.keys(report.arms[0]?.metrics ?? {});
  if (!names.length) return null;
  const headlineName = names.includes(headlineMetric(kind)) ? headlineMetric(kind) : names[0];
  const holder = h('div', {class: 'chart-holder'});
  const pick = h('select', {id: 'chart-metric', onchange: () => replace(holder, intervalChart(report.arms, pick.value))},
    names.map(m => h('option', {value: m, selected: m === headlineName}, m)));
  replace(holder, intervalChart(report.arms, headlineName));
  const base = baselineArm(report.arms);
  const points = report.arms.map(a => ({label: a.intervention, x: overhead(a, base), interval: a.metrics[headlineName],
    index: a.arm}));
  return h('div', {class: 'charts'},
    h('figure', {}, h('figcaption', {}, 'Metric per arm with its 95% interval ', pick), holder),
    h('figure', {}, h('figcaption', {}, `${headlineName} against overhead (relative to ${armLabel(base)})`),
      overheadScatter(points, headlineName)));
}

function tests(report) {
  if (!report.comparisons.length) return h('p', {class: 'empty'}, 'Paired tests need two arms and a finished item.');
  const top = headline(report);
  return h('div', {},
    top && h('p', {class: `verdict ${top.best ? (top.significant ? 'significant' : 'not-significant') : ''}`,
      id: 'verdict'}, top.text),
    h('table', {id: 'comparisons'},
      h('thead', {}, h('tr', {}, ['arms', 'metric', 'test', 'difference (second − first)', 'only first right',
        'only second right', 'p-value', 'in words'].map(c => h('th', {}, c)))),
      h('tbody', {}, report.comparisons.map(c => h('tr', {},
        h('td', {}, `${armLabel(report.arms[c.first])} vs ${armLabel(report.arms[c.second])}`),
        h('td', {}, c.metric), h('td', {}, c.test),
        h('td', {class: 'num'}, num(c.difference), c.lower !== null && ` [${num(c.lower)}, ${num(c.upper)}]`),
        h('td', {class: 'num'}, c.first_only ?? '–'), h('td', {class: 'num'}, c.second_only ?? '–'),
        h('td', {class: 'num p-value'}, formatP(c.p_value)),
        h('td', {}, verdict(c, report.arms).text))))));
}

function requestSummary(e) {
  const r = e.request ?? {};
  const arms = (r.arms ?? []).map((a, i) => `${i}: ${a.intervention} ${JSON.stringify(a.params ?? {})}`);
  return h('dl', {class: 'request'},
    h('dt', {}, 'kind'), h('dd', {}, e.kind),
    h('dt', {}, 'arms'), h('dd', {}, arms.map(a => h('div', {}, a))),
    h('dt', {}, 'decoding'), h('dd', {}, `max_new_tokens ${r.max_new_tokens}, temperature ${r.temperature}`
        + (r.seed !== null && r.seed !== undefined ? `, seed ${r.seed}` : '')),
    h('dt', {}, 'created / finished'), h('dd', {}, `${time(e.created_at)} / ${time(e.finished_at)}`));
}

export async function render(root, page) {
  const id = page.params.id;
  const header = h('section', {class: 'card'});
  const body = h('div');
  replace(root, header, body);

  async function load() {
    const e = await get(`/v1/evaluations/${id}`);
    const p = e.progress;
    replace(header,
      h('h2', {}, e.set, ' ', h('span', {class: `badge status-${e.status}`, id: 'eval-status'}, e.status)),
      e.reason && h('p', {class: 'error'}, e.reason),
      h('div', {class: 'progress-line'}, progressBar(p),
        ` ${p.items_per_second === null ? '' : `${num(p.items_per_second, 2)} items/s`}`,
        isOpen(e) && ` · ETA ${duration(p.eta_seconds)}`,
        isOpen(e) && h('button', {class: 'secondary', onclick: () => cancel(id, page)}, 'Cancel')),
      requestSummary(e),
      h('p', {},
        h('a', {href: `#/evaluations/${id}/items`, id: 'items-link'}, 'Items and outputs'), ' · ',
        h('a', {href: '#', onclick: ev => {
          ev.preventDefault();
          download(`/v1/evaluations/${id}/items.csv`, `evaluation-${id}-items.csv`).catch(page.error);
        }}, 'CSV')));
    const report = e.report;
    replace(body, report && report.items > 0
      ? [h('section', {class: 'card'}, h('h2', {}, `Per-arm metrics on ${report.items} items every arm answered`),
          metricsTable(report), charts(report, e.kind)),
        h('section', {class: 'card'}, h('h2', {}, 'Which arm is better'), tests(report))]
      : h('section', {class: 'card'}, h('p', {class: 'empty'}, 'No item is done by every arm yet.')));
    return isOpen(e) ? 2000 : null;
  }
  page.poll(load);
}
