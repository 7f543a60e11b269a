// #/evaluations: every evaluation with live progress, and a form that starts one on a shipped or an uploaded set.

import {get, post, withQuery} from '../api.js';
import {h, replace} from '../dom.js';
import {duration, num, time} from '../format.js';
import {problemView} from '../problem.js';
import {uploadFields} from './upload-set.js';

const PAGE = 20;
const OPEN = ['queued', 'running'];

export const isOpen = e => OPEN.includes(e.status);

export function progressBar(p) {
  const pct = p.total ? (100 * p.done) / p.total : 0;
  const failed = p.failed ? `, ${p.failed} failed` : '';
  return h('div', {class: 'progress', title: `${p.done} of ${p.total} items done${failed}`},
    h('div', {class: 'bar', style: `width: ${pct.toFixed(1)}%`}),
    h('span', {}, `${p.done}/${p.total}${failed}`));
}

export async function cancel(id, page) {
  try {
    await post(`/v1/evaluations/${id}/cancel`);
  } catch (e) {
    page.error(e);
  }
  page.refresh();
}

function row(e, page) {
  const p = e.progress;
  return h('tr', {'data-id': e.id, class: `status-${e.status}`},
    h('td', {}, h('a', {href: `#/evaluations/${e.id}`}, e.set)),
    h('td', {}, (e.request?.arms ?? []).map(a => a.intervention).join(' vs ')),
    h('td', {class: 'status'}, e.status, e.reason && h('div', {class: 'sub'}, e.reason)),
    h('td', {}, progressBar(p)),
    h('td', {class: 'num'}, p.items_per_second === null ? '–' : num(p.items_per_second, 2)),
    h('td', {class: 'num'}, duration(p.eta_seconds)),
    h('td', {}, time(e.created_at)),
    h('td', {}, isOpen(e) && h('button', {class: 'secondary', onclick: () => cancel(e.id, page)}, 'Cancel')));
}

function startForm(sets, interventions, page) {
  const set = h('select', {name: 'set', id: 'eval-set', required: true},
    sets.map(b => h('option', {value: b.name}, `${b.name} (${b.kind}, ${b.items} items)`)));
  const shipped = h('div', {class: 'fields'}, h('label', {}, 'Shipped set', set));
  const upload = uploadFields();
  // the half not chosen is hidden and disabled, so that its required fields do not block the submit
  let uploading = false;
  const choose = chosen => {
    uploading = chosen;
    shipped.hidden = set.disabled = chosen;
    upload.element.hidden = upload.element.disabled = !chosen;
  };
  const source = [['shipped', 'a shipped set'], ['upload', 'upload a set']].map(([value, label]) =>
    h('label', {class: 'check'}, h('input', {type: 'radio', name: 'source', value, checked: value === 'shipped',
      onchange: () => choose(value === 'upload')}), label));
  choose(false);
  const limit = h('input', {type: 'number', name: 'limit', id: 'eval-limit', min: 1, placeholder: 'all'});
  const arms = interventions.map(iv => h('label', {class: 'check', title: `${iv.paper ?? ''} ${iv.summary ?? ''}`.trim()},
    h('input', {type: 'checkbox', name: 'arm', value: iv.name, checked: iv.name === 'none'}), iv.name));
  const status = h('div', {class: 'form-status'});
  const onsubmit = async ev => {
    ev.preventDefault();
    const chosen = arms.map(l => l.firstChild).filter(c => c.checked).map(c => ({intervention: c.value}));
    const request = {arms: chosen};
    if (limit.value) request.limit = Number(limit.value);
    replace(status, 'starting…');
    try {
      const created = await post('/v1/evaluations', uploading ? upload.body(request) : {set: set.value, ...request});
      location.hash = `#/evaluations/${created.id}`;
    } catch (e) {
      replace(status, problemView(e));
    }
  };
  return h('form', {class: 'card', id: 'start-evaluation', onsubmit},
    h('h2', {}, 'Start an evaluation'),
    h('fieldset', {}, h('legend', {}, 'Benchmark set'), h('div', {class: 'source'}, source), shipped, upload.element),
    h('div', {class: 'fields'}, h('label', {}, 'Item limit (the set\'s first n items)', limit)),
    h('fieldset', {}, h('legend', {}, 'Arms (default parameters; set others with curl)'), arms),
    h('button', {type: 'submit'}, 'Start'), status);
}

export async function render(root, page) {
  const index = Number(page.query.get('page') ?? 0);
  const [sets, interventions] = await Promise.all([get('/v1/benchmarks'), get('/v1/interventions')]);
  const body = h('tbody');
  const pager = h('div', {class: 'pager'});
  replace(root,
    h('section', {class: 'card'},
      h('h2', {}, 'Evaluations'),
      h('table', {id: 'evaluations'},
        h('thead', {}, h('tr', {}, ['set', 'arms', 'status', 'progress', 'items/s', 'ETA', 'created', '']
          .map(c => h('th', {}, c)))),
        body),
      pager),
    startForm(sets, interventions, page));

  async function load() {
    const list = await get(withQuery('/v1/evaluations', {page: index, size: PAGE}));
    replace(body, list.items.length ? list.items.map(e => row(e, page))
        : h('tr', {}, h('td', {colspan: 8, class: 'empty'}, 'No evaluations yet: start one below.')));
    replace(pager,
      index > 0 && h('a', {href: `#/evaluations?page=${index - 1}`}, '← newer'), ' ',
      `${list.total} in all`, ' ',
      (index + 1) * PAGE < list.total && h('a', {href: `#/evaluations?page=${index + 1}`}, 'older →'));
    // poll fast while something moves, slowly otherwise so that jobs started elsewhere show up
    return list.items.some(isOpen) ? 2000 : 10000;
  }
  page.poll(load);
}
