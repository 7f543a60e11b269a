// #/evaluations/{id}/items: item-level results; #/evaluations/{id}/items/{index}: one item's image and every arm's
// output side by side, hallucinated parts highlighted.

import {get, imageUrl, withQuery} from '../api.js';
import {h, replace} from '../dom.js';
import {num} from '../format.js';
import {markAnswer} from '../stats.js';

const PAGE = 20;

function image(item, cls) {
  const img = h('img', {class: cls, alt: `image of item ${item.index}`});
  imageUrl(item.image_url).then(url => { img.src = url; }, () => { img.alt = 'image unavailable'; });
  return img;
}

/** What the item asks and what is true, in the set's own fields. */
function question(kind, item) {
  const it = item.item;
  switch (kind) {
    case 'pope': return [it.text, ` — truth: ${it.label}`];
    case 'chair': return [it.text, ` — objects: ${it.objects.join(', ')}`];
    case 'sycophancy': return [it.neutral, ' / ', it.leading, ` — truth: ${it.label}`];
    default: return [it.text, ` — truth: ${it.answer}`];
  }
}

const answerSpans = marked => marked.spans.map(sp => (sp.cls ? h('mark', {class: sp.cls}, sp.text) : sp.text));

async function evaluationOf(id) {
  const e = await get(`/v1/evaluations/${id}`);
  return {e, arms: e.request.arms};
}

export async function renderList(root, page) {
  const id = page.params.id;
  const index = Number(page.query.get('page') ?? 0);
  const [{e, arms}, items] = await Promise.all([evaluationOf(id),
    get(withQuery(`/v1/evaluations/${id}/items`, {page: index, size: PAGE}))]);
  replace(root, h('section', {class: 'card'},
    h('h2', {}, h('a', {href: `#/evaluations/${id}`}, e.set), ': items'),
    h('table', {id: 'items'},
      h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'image'), h('th', {}, 'question'),
        arms.map((a, i) => h('th', {}, `${a.intervention} (arm ${i})`)))),
      h('tbody', {}, items.items.map(item => h('tr', {'data-index': item.index},
        h('td', {}, h('a', {href: `#/evaluations/${id}/items/${item.index}`}, item.index)),
        h('td', {}, image(item, 'thumb')),
        h('td', {}, question(e.kind, item)),
        arms.map((_, arm) => {
          const r = item.results.find(x => x.arm === arm);
          return h('td', {'data-arm': arm}, r ? markAnswer(e.kind, item.item, r).map(m => h('div', {title: m.note}, answerSpans(m)))
              : h('span', {class: item.status === 'failed' ? 'error' : 'sub', title: item.error ?? ''}, item.status));
        }))))),
    h('div', {class: 'pager'},
      index > 0 && h('a', {href: `#/evaluations/${id}/items?page=${index - 1}`}, '← previous'), ' ',
      `${items.total} items`, ' ',
      (index + 1) * PAGE < items.total && h('a', {href: `#/evaluations/${id}/items?page=${index + 1}`}, 'next →'))));
}

export async function renderItem(root, page) {
  const {id, index} = page.params;
  // items are paged in index order, so page n of size 1 is item n
  const [{e, arms}, one] = await Promise.all([evaluationOf(id),
    get(withQuery(`/v1/evaluations/${id}/items`, {page: index, size: 1}))]);
  const item = one.items[0];
  if (!item) {
    replace(root, h('p', {class: 'error'}, `No item ${index}.`));
    return;
  }
  const n = Number(index);
  replace(root, h('section', {class: 'card', id: 'item'},
    h('h2', {}, h('a', {href: `#/evaluations/${id}`}, e.set), ` · item ${item.index}`),
    h('div', {class: 'pager'},
      n > 0 && h('a', {href: `#/evaluations/${id}/items/${n - 1}`}, '← previous'), ' ',
      n + 1 < one.total && h('a', {href: `#/evaluations/${id}/items/${n + 1}`}, 'next →')),
    h('div', {class: 'item-layout'},
      h('figure', {}, image(item, 'large'), h('figcaption', {}, item.item.image)),
      h('div', {},
        h('p', {class: 'question'}, question(e.kind, item)),
        h('div', {class: 'side-by-side'}, arms.map((a, arm) => {
          const r = item.results.find(x => x.arm === arm);
          return h('div', {class: 'output', 'data-arm': arm},
            h('h3', {}, `${a.intervention} (arm ${arm})`),
            r ? [markAnswer(e.kind, item.item, r).map(m => h('div', {class: `answer ${m.outcome}`},
                  h('p', {class: 'text'}, answerSpans(m)), h('p', {class: 'note'}, m.note))),
                h('p', {class: 'sub'}, `${r.tokens} tokens · ${num(r.latency_ms, 1)} ms · ${num(r.tokens_per_second, 1)} tokens/s`),
                h('pre', {class: 'scores'}, JSON.stringify(r.scores, null, 1))]
              : item.status === 'failed'
                ? h('p', {class: 'error'}, `failed after ${item.attempts} attempts: ${item.error}`)
                : h('p', {class: 'sub'}, `not answered yet (${item.status})`));
        }))))));
}
