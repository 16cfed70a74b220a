/** The device page's name, room and labels form without DOM: what typed text becomes as a PATCH body. */
import t from 'tap';
import { attributePatch, draftOf, parseLabels, withPatch } from '../src/data/device-attributes.js';

const device = { name: 'Freezer', room: 'Kitchen', labels: ['cold', 'critical'] };

t.test('draftOf shows the device as editable text', async (t) => {
  t.same(draftOf(device), { name: 'Freezer', room: 'Kitchen', labels: 'cold, critical' });
  t.same(draftOf({ name: 'x', room: null, labels: [] }), { name: 'x', room: '', labels: '' });
});

t.test('parseLabels splits on commas and spaces, drops empties and repeats, keeps the order typed', async (t) => {
  t.same(parseLabels(' b, a  c,,a '), ['b', 'a', 'c']);
  t.same(parseLabels(''), []);
  t.same(parseLabels('Zone:North'), ['Zone:North'], 'not lower-cased here: the hub says what is wrong');
});

t.test('attributePatch has only what changed; an empty room clears it', async (t) => {
  t.same(attributePatch(device, draftOf(device)), {}, 'nothing changed');
  t.same(attributePatch(device, { name: 'Freezer', room: 'Kitchen', labels: 'critical cold' }), {}, 'the same labels in another order');
  t.same(attributePatch(device, { name: ' Big freezer ', room: '  ', labels: 'cold' }), { name: 'Big freezer', room: null, labels: ['cold'] });
  t.same(attributePatch({ ...device, room: null }, { name: 'Freezer', room: 'Cellar', labels: 'cold, critical, new' }), { room: 'Cellar', labels: ['cold', 'critical', 'new'] });
});

t.test('withPatch shows the device as the hub will have it: labels sorted, each once', async (t) => {
  const before = { id: 'f1', ...device };
  t.same(withPatch(before, { room: null, labels: ['z', 'a', 'z'] }), { id: 'f1', name: 'Freezer', room: null, labels: ['a', 'z'] });
  t.same(withPatch(before, {}), before);
  t.same(before.labels, ['cold', 'critical'], 'the device itself is not changed');
});
