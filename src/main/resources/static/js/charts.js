// Inline SVG charts: no library, so nothing has to be vendored or fetched.

import {s} from './dom.js';
import {num} from './format.js';

const W = 560;
const H = 260;
const M = {top: 16, right: 16, bottom: 44, left: 52};

function linear(d0, d1, r0, r1) {
  return x => r0 + ((x - d0) / (d1 - d0 || 1)) * (r1 - r0);
}

function yAxis(y, ticks, label) {
  return s('g', {class: 'axis'},
    ticks.map(t => s('g', {},
      s('line', {x1: M.left, x2: W - M.right, y1: y(t), y2: y(t), class: 'grid'}),
      s('text', {x: M.left - 6, y: y(t) + 4, 'text-anchor': 'end'}, num(t, 2)))),
    s('text', {x: 14, y: M.top + (H - M.top - M.bottom) / 2, transform: `rotate(-90 14 ${M.top + (H - M.top - M.bottom) / 2})`,
      'text-anchor': 'middle'}, label));
}

const steps = (lo, hi, n) => Array.from({length: n + 1}, (_, i) => lo + ((hi - lo) * i) / n);

/** One bar per arm at the metric's point estimate, with its 95% interval as an error bar. */
export function intervalChart(arms, metric) {
  // the served metrics are proportions; the axis stretches only if a future one is not
  const top = Math.max(1, ...arms.map(a => a.metrics[metric]?.upper ?? 0));
  const y = linear(0, top, H - M.bottom, M.top);
  const band = (W - M.left - M.right) / arms.length;
  const bar = Math.min(64, band * 0.5);
  return s('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${metric} per arm with 95% intervals`},
    yAxis(y, steps(0, top, 4), metric),
    arms.map((a, i) => {
      const m = a.metrics[metric];
      const cx = M.left + band * (i + 0.5);
      return s('g', {class: 'arm'},
        m && s('rect', {x: cx - bar / 2, y: y(m.point), width: bar, height: y(0) - y(m.point), class: `fill-${i % 8}`},
          s('title', {}, `${a.intervention}: ${num(m.point)} [${num(m.lower)}, ${num(m.upper)}]`)),
        m && s('line', {x1: cx, x2: cx, y1: y(m.lower), y2: y(m.upper), class: 'whisker'}),
        m && [m.lower, m.upper].map(v => s('line', {x1: cx - 8, x2: cx + 8, y1: y(v), y2: y(v), class: 'whisker'})),
        s('text', {x: cx, y: H - M.bottom + 16, 'text-anchor': 'middle'}, a.intervention),
        s('text', {x: cx, y: H - M.bottom + 30, 'text-anchor': 'middle', class: 'sub'}, `arm ${a.arm}`));
    }));
}

/**
 * Quality against cost: one point per arm at (overhead, metric), with the metric's interval.
 *
 * @param points {label, x, interval, index}[]; points with a null x are left out
 */
export function overheadScatter(points, metric) {
  const shown = points.filter(p => p.x !== null && p.interval);
  const xs = shown.map(p => p.x);
  const x = linear(Math.min(0.9, ...xs), Math.max(1.1, ...xs) * 1.05, M.left + 12, W - M.right - 12);
  const lo = Math.min(...shown.map(p => p.interval.lower), 0);
  const hi = Math.max(...shown.map(p => p.interval.upper), 1);
  const y = linear(lo, hi, H - M.bottom, M.top);
  const xTicks = steps(Math.min(0.9, ...xs), Math.max(1.1, ...xs) * 1.05, 4);
  return s('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${metric} against overhead`},
    yAxis(y, steps(lo, hi, 4), metric),
    s('g', {class: 'axis'},
      xTicks.map(t => s('text', {x: x(t), y: H - M.bottom + 16, 'text-anchor': 'middle'}, `${num(t, 2)}×`)),
      s('line', {x1: x(1), x2: x(1), y1: M.top, y2: H - M.bottom, class: 'grid baseline'}),
      s('text', {x: (M.left + W - M.right) / 2, y: H - 8, 'text-anchor': 'middle'},
        'overhead: seconds per token / baseline arm\'s')),
    shown.map((p, i) => {
      const [px, py] = [x(p.x), y(p.interval.point)];
      // arms that land on (nearly) the same spot stack their labels instead of printing over each other
      const below = shown.slice(0, i).filter(q => Math.hypot(x(q.x) - px, y(q.interval.point) - py) < 12).length;
      return s('g', {class: 'point'},
        s('line', {x1: px, x2: px, y1: y(p.interval.lower), y2: y(p.interval.upper), class: 'whisker'}),
        s('circle', {cx: px, cy: py, r: 6, class: `fill-${p.index % 8}`},
          s('title', {}, `${p.label}: ${num(p.interval.point)} at ${num(p.x, 2)}×`)),
        s('text', {x: px + 9, y: py - 8 + 13 * below}, p.label));
    }));
}
