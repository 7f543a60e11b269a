// #/live: live A/B. The per-arm summary of stored generations, a form that runs one prompt through several arms,
// and the newest multi-arm generations with feedback buttons.

import {ApiError, get, imageUrl, post, withQuery} from '../api.js';
import {h, replace} from '../dom.js';
import {interval, num, time} from '../format.js';

const RECENT = 50;
const SINCE = [['', 'all time'], ['1', 'last hour'], ['24', 'last 24 hours'], ['168', 'last 7 days']];

function summaryTable(summary) {
  if (!summary.arms.length) return h('p', {class: 'empty'}, 'No generations in this range.');
  return h('div', {class: 'scroll'}, h('table', {id: 'summary'},
    h('thead', {}, h('tr', {}, ['intervention', 'params', 'outputs', 'visual attention', 'mean tokens',
      'latency p50 / p95 (ms)', 'preferred / asked', 'win rate', 'hallucinated / judged', 'hallucination rate']
      .map(c => h('th', {}, c)))),
    h('tbody', {}, summary.arms.map(a => h('tr', {'data-intervention': a.intervention},
      h('td', {}, a.intervention), h('td', {}, h('code', {}, JSON.stringify(a.params ?? {}))),
      h('td', {class: 'num'}, a.outputs), h('td', {class: 'num'}, num(a.visual_attention_ratio)),
      h('td', {class: 'num'}, num(a.mean_tokens, 1)),
      h('td', {class: 'num'}, `${num(a.latency_p50_ms, 1)} / ${num(a.latency_p95_ms, 1)}`),
      h('td', {class: 'num'}, `${a.wins} / ${a.preferences}`), h('td', {class: 'num'}, interval(a.win_rate)),
      h('td', {class: 'num'}, `${a.hallucinated} / ${a.judgements}`),
      h('td', {class: 'num'}, interval(a.hallucination_rate)))))));
}

function compareForm(interventions, onDone) {
  const file = h('input', {type: 'file', id: 'compare-image', accept: 'image/png,image/jpeg,image/webp', required: true});
  const prompt = h('input', {type: 'text', id: 'compare-prompt', value: 'describe the image .', required: true});
  const tokens = h('input', {type: 'number', id: 'compare-tokens', min: 1, value: 20});
  const arms = interventions.map(iv => h('label', {class: 'check', title: iv.summary ?? ''},
    h('input', {type: 'checkbox', name: 'compare-arm', value: iv.name, checked: iv.name === 'none' || iv.name === 'vcd'}),
    iv.name));
  const status = h('span', {class: 'form-status'});
  const onsubmit = async ev => {
    ev.preventDefault();
    const request = {prompt: prompt.value, max_new_tokens: Number(tokens.value),
      arms: arms.map(l => l.firstChild).filter(c => c.checked).map(c => ({intervention: c.value}))};
    const form = new FormData();
    form.append('image', file.files[0]);
    form.append('request', new Blob([JSON.stringify(request)], {type: 'application/json'}));
    replace(status, 'running…');
    try {
      await post('/v1/generations', form);
      replace(status, 'done');
      onDone();
    } catch (e) {
      replace(status, h('span', {class: 'error'}, e.message));
    }
  };
  return h('form', {class: 'card', id: 'compare', onsubmit},
    h('h2', {}, 'Compare arms on an image'),
    h('div', {class: 'fields'}, h('label', {}, 'Image', file), h('label', {}, 'Prompt', prompt),
      h('label', {}, 'Max new tokens', tokens)),
    h('fieldset', {}, h('legend', {}, 'Arms'), arms),
    h('button', {type: 'submit'}, 'Generate'), ' ', status);
}

/** A button that posts one judgement; it shows when the judgement is stored, or why it was refused. */
function feedbackButton(generation, label, body, cls, onSaved) {
  const button = h('button', {type: 'button', class: `feedback ${cls}`, onclick: async () => {
    button.disabled = true;
    try {
      await post(`/v1/generations/${generation.id}/feedback`, body);
      button.classList.add('saved');
      button.title = 'stored';
      onSaved();
    } catch (e) {
      button.disabled = false;
      button.title = e.message;
      button.classList.add('failed');
    }
  }}, label);
  return button;
}

function generationCard(g, onSaved) {
  const img = h('img', {class: 'thumb', alt: 'input image'});
  imageUrl(`/v1/images/${g.image.sha256}`).then(url => { img.src = url; }, () => {});
  return h('article', {class: 'card generation', 'data-id': g.id},
    h('header', {}, img, h('div', {}, h('p', {class: 'question'}, g.prompt), h('p', {class: 'sub'}, time(g.created_at)))),
    h('div', {class: 'side-by-side'}, g.outputs.map(o => h('div', {class: 'output', 'data-arm': o.arm},
      h('h3', {}, `${o.intervention} (arm ${o.arm})`),
      h('p', {class: 'text'}, o.text),
      h('p', {class: 'sub'}, `${o.tokens.length} tokens · ${num(o.latency_ms, 1)} ms`),
      h('div', {class: 'buttons'},
        feedbackButton(g, 'Prefer', {preferred_arm: o.arm}, 'prefer', onSaved),
        feedbackButton(g, 'Hallucinates', {arms: [{arm: o.arm, hallucinated: true}]}, 'hallucinated', onSaved),
        feedbackButton(g, 'Faithful', {arms: [{arm: o.arm, hallucinated: false}]}, 'faithful', onSaved))))));
}

export async function render(root, page) {
  const interventions = await get('/v1/interventions');
  const ivFilter = h('select', {id: 'summary-intervention'}, h('option', {value: ''}, 'every intervention'),
    interventions.map(iv => h('option', {value: iv.name}, iv.name)));
  const since = h('select', {id: 'summary-since'}, SINCE.map(([v, l]) => h('option', {value: v}, l)));
  const summary = h('div');
  const recent = h('div', {id: 'recent'});

  async function loadSummary() {
    const from = since.value ? new Date(Date.now() - Number(since.value) * 3600e3).toISOString() : null;
    try {
      replace(summary, summaryTable(await get(withQuery('/v1/experiments/summary',
        {intervention: ivFilter.value, from}))));
    } catch (e) {
      replace(summary, h('p', {class: 'error'}, e instanceof ApiError && e.status === 404
        ? 'This server does not offer GET /v1/experiments/summary.' : e.message));
    }
  }
  async function loadRecent() {
    const page0 = await get(withQuery('/v1/generations', {size: RECENT}));
    const comparisons = page0.items.filter(g => g.status === 'completed' && g.outputs.length > 1);
    replace(recent, comparisons.length ? comparisons.map(g => generationCard(g, loadSummary))
        : h('p', {class: 'empty'}, `None of the ${RECENT} newest generations has two or more arms.`));
  }
  ivFilter.onchange = loadSummary;
  since.onchange = loadSummary;

  replace(root,
    h('section', {class: 'card'}, h('h2', {}, 'Live A/B: per-arm summary'),
      h('div', {class: 'fields'}, ivFilter, since), summary),
    compareForm(interventions, () => { loadRecent(); loadSummary(); }),
    h('section', {}, h('h2', {}, 'Recent comparisons'), recent));
  page.poll(async () => {
    await Promise.all([loadSummary(), loadRecent()]);
    return null;
  });
}
