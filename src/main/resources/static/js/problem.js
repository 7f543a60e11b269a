// A refused call as a form shows it: the problem's detail, then each of its errors that the detail does not already
// spell out (an invalid-set problem says "the uploaded set has 4 problems (see errors)" and lists them by location).

import {h} from './dom.js';

export function problemView(e) {
  const detail = e.message ?? String(e);
  const errors = (e.problem?.errors ?? []).filter(x => !detail.includes(`${x.field}: ${x.message}`));
  return h('div', {class: 'error problem'}, detail,
    errors.length > 0 && h('ul', {}, errors.map(x => h('li', {'data-field': x.field}, h('code', {}, x.field), ': ', x.message))));
}
