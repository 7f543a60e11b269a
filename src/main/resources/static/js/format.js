// Number and time formats shared by the views; the browser test reads numbers back in these formats.

import {h} from './dom.js';

export const num = (x, digits = 3) => (x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits));

/** A metric with its 95% interval below it: "0.750" over "[0.500, 1.000]". */
export const interval = i => (i ? [num(i.point), h('span', {class: 'ci'}, `[${num(i.lower)}, ${num(i.upper)}]`)] : '–');

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 60) return `${seconds.toFixed(0)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export const time = iso => (iso ? new Date(iso).toLocaleString() : '–');
