// The "upload a set" half of the start form: the parts of a multipart POST /v1/evaluations (README "Uploaded sets").
// Image parts keep the chosen files' names, which is what the items' image field must say.

import {h} from '../dom.js';

const KINDS = [['pope', 'pope (yes/no questions)'], ['chair', 'chair (captions)']];

export function uploadFields() {
  const name = h('input', {name: 'upload-name', id: 'upload-name', required: true,
    title: '1 to 64 letters, digits, ".", "_" or "-"; the evaluation\'s set is upload/<name>'});
  const kind = h('select', {name: 'upload-kind', id: 'upload-kind'}, KINDS.map(([v, label]) => h('option', {value: v}, label)));
  const items = h('input', {type: 'file', name: 'items', id: 'upload-items', accept: '.jsonl', required: true});
  const images = h('input', {type: 'file', name: 'images', id: 'upload-images', accept: 'image/*', multiple: true});
  const synonyms = h('input', {type: 'file', name: 'synonyms', id: 'upload-synonyms', accept: '.json'});
  const element = h('fieldset', {id: 'upload-set'},
    h('div', {class: 'fields'},
      h('label', {}, 'Name', name),
      h('label', {}, 'Kind', kind),
      h('label', {}, 'Items (JSONL)', items),
      h('label', {}, 'Images (one file each)', images),
      h('label', {}, 'Synonyms (chair, optional)', synonyms)));

  /** The multipart body: request (the JSON body with upload instead of set), items, images and synonyms. */
  function body(request) {
    const form = new FormData();
    const json = JSON.stringify({upload: {name: name.value, kind: kind.value}, ...request});
    form.append('request', new Blob([json], {type: 'application/json'}), 'request.json');
    form.append('items', items.files[0]);
    for (const image of images.files) form.append('images', image);
    if (synonyms.files.length) form.append('synonyms', synonyms.files[0]);
    return form;
  }
  return {element, body};
}
