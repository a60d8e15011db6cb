// The library stores' bookkeeping that needs no browser (store.js): a store that overflowed to
// memory keeps its stored and its in-memory pending work apart. (IndexedDB itself is tested in a
// browser by search.test.mjs; here a MemoryStore stands in for it, with the same interface and
// the same numbering from 1.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore, OverflowStore } from '../../www/store.js';

test('an overflowed store finishes in-memory work without touching the stored pending work, and the reverse', async () => {
  const stored = new MemoryStore();
  const [first] = await stored.addPending('add', [{ name: 'stored.jpg' }]);
  const store = new OverflowStore(stored);
  const [later] = await store.addPending('add', [{ name: 'in-memory.jpg' }]);
  assert.notEqual(later, first, 'the numbers of both kinds of pending work are distinct');
  assert.deepEqual((await store.pending()).map((p) => [p.seq, p.item.name]), [[first, 'stored.jpg'], [later, 'in-memory.jpg']]);

  await store.donePending([later]);
  assert.deepEqual((await store.pending()).map((p) => p.item.name), ['stored.jpg'], 'finishing the in-memory work kept the stored work');
  assert.equal((await stored.pending()).length, 1);

  const [again] = await store.addPending('add', [{ name: 'in-memory-2.jpg' }]);
  await store.donePending([first]);
  assert.deepEqual((await store.pending()).map((p) => [p.seq, p.item.name]), [[again, 'in-memory-2.jpg']], 'finishing the stored work kept the in-memory work');
  assert.equal((await stored.pending()).length, 0);
});
