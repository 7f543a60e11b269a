// Hash router: each route renders into <main>; a page's polls stop when the route changes.

import {apiKey, setApiKey} from './api.js';
import {h, replace} from './dom.js';
import * as evaluation from './views/evaluation.js';
import * as evaluations from './views/evaluations.js';
import * as items from './views/items.js';
import * as live from './views/live.js';

const ROUTES = [
  [/^\/evaluations$/, [], evaluations.render, 'evaluations'],
  [/^\/evaluations\/([0-9a-f-]+)$/, ['id'], evaluation.render, 'evaluations'],
  [/^\/evaluations\/([0-9a-f-]+)\/items$/, ['id'], items.renderList, 'evaluations'],
  [/^\/evaluations\/([0-9a-f-]+)\/items\/(\d+)$/, ['id', 'index'], items.renderItem, 'evaluations'],
  [/^\/live$/, [], live.render, 'live'],
];

const root = document.getElementById('view');
let current = null;

/**
 * What a view gets: its route's parameters and query, its own container, and polls that die with the page. A view
 * that finishes loading after the route changed writes into its detached container, never over the next page.
 */
function newPage(params, query) {
  const page = {params, query, alive: true, timer: null, load: null, container: h('div')};
  page.error = e => {
    page.container.querySelector(':scope > .banner')?.remove();
    page.container.prepend(h('p', {class: 'error banner'}, e.message ?? String(e)));
  };
  // fn returns the delay until its next run in ms, or null to run once
  page.poll = fn => {
    page.load = async () => {
      clearTimeout(page.timer);
      let next = null;
      try {
        next = await fn();
      } catch (e) {
        page.error(e);
        next = 10000;
      }
      if (page.alive && next !== null) page.timer = setTimeout(page.load, next);
    };
    return page.load();
  };
  page.refresh = () => page.load?.();
  return page;
}

async function route() {
  if (current) {
    current.alive = false;
    clearTimeout(current.timer);
  }
  const [path, search] = (location.hash.slice(1) || '/evaluations').split('?');
  for (const [pattern, names, render, nav] of ROUTES) {
    const m = pattern.exec(path);
    if (!m) continue;
    const page = newPage(Object.fromEntries(names.map((n, i) => [n, m[i + 1]])), new URLSearchParams(search ?? ''));
    current = page;
    document.querySelectorAll('[data-nav]').forEach(a => a.classList.toggle('active', a.dataset.nav === nav));
    replace(root, page.container);
    replace(page.container, h('p', {class: 'sub'}, 'loading…'));
    try {
      await render(page.container, page);
    } catch (e) {
      replace(page.container, h('p', {class: 'error banner'}, e.message ?? String(e)));
    }
    return;
  }
  replace(root, h('p', {class: 'error'}, `No page ${path}.`));
}

const key = document.getElementById('api-key');
key.value = apiKey();
key.addEventListener('change', () => {
  setApiKey(key.value.trim());
  route();
});
window.addEventListener('hashchange', route);
route();
