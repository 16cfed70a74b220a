import t from 'tap';
import type { AlertRule } from '@iot-hub/protocol';
import { EMPTY_RULE_FORM, fieldOfMessage, formFromRule, ruleFromForm, RuleFormError } from '../src/data/rule-form.js';

t.test('a threshold rule on a kind with a command action', async (t) => {
  const rule = ruleFromForm({
    ...EMPTY_RULE_FORM,
    name: ' Freezer warm ',
    severity: 'critical',
    scopeType: 'kind',
    scopeValue: 'freezer',
    conditionType: 'above',
    metric: 'temp',
    value: '-15',
    clear: '-17',
    forSec: '300',
    minFiringSec: '60',
    actionDeviceId: 'siren-1',
    actionName: 'sound',
    actionParams: '{"seconds": 30}',
  });
  t.strictSame(rule, {
    name: 'Freezer warm',
    description: '',
    severity: 'critical',
    enabled: true,
    scope: { type: 'kind', kind: 'freezer' },
    condition: { type: 'above', metric: 'temp', value: -15, clear: -17 },
    forSec: 300,
    minFiringSec: 60,
    actions: [{ type: 'command', on: 'firing', deviceId: 'siren-1', name: 'sound', params: { seconds: 30 } }],
  });
  const back = formFromRule({ ...rule, id: 'r1', builtin: null, createdAt: 0, updatedAt: 0, version: 1, actionIntervalSec: 60 } as AlertRule);
  t.equal(back.value, '-15');
  t.equal(back.clear, '-17');
  t.equal(back.scopeValue, 'freezer');
  t.equal(back.actionParams, '{"seconds":30}');
});

t.test('blank optional numbers are left out; bad numbers name their field', async (t) => {
  t.strictSame(ruleFromForm({ ...EMPTY_RULE_FORM, name: 'x', metric: 'temp', value: '30' }).condition, { type: 'above', metric: 'temp', value: 30 });
  t.strictSame(ruleFromForm({ ...EMPTY_RULE_FORM, name: 'x', conditionType: 'offline', forSec: '60' }).condition, { type: 'offline' });
  t.throws(() => ruleFromForm({ ...EMPTY_RULE_FORM, name: 'x', metric: 'temp', value: 'hot' }), new RuleFormError({ field: 'condition.value', message: 'must be a number, got "hot"' }));
  t.throws(() => ruleFromForm({ ...EMPTY_RULE_FORM, name: 'x', metric: 'temp' }), new RuleFormError({ field: 'condition.value', message: 'is required' }));
  t.throws(() => ruleFromForm({ ...EMPTY_RULE_FORM, name: 'x', metric: 't', value: '1', actionDeviceId: 'd', actionParams: '[1]' }), new RuleFormError({ field: 'actions[0].params', message: 'must be a JSON object' }));
});

t.test('hub messages go next to the field they name', async (t) => {
  t.strictSame(fieldOfMessage('condition.clear must be at most condition.value (30) for above, got 31'), { field: 'condition.clear', message: 'must be at most condition.value (30) for above, got 31' });
  t.strictSame(fieldOfMessage('scope.deviceId: no device "x"'), { field: 'scope.deviceId', message: 'no device "x"' });
  t.strictSame(fieldOfMessage('actions[0].name: "boom": device "d" declares on, off'), { field: 'actions[0].name', message: '"boom": device "d" declares on, off' });
  t.strictSame(fieldOfMessage('name must be a non-empty string'), { field: 'name', message: 'must be a non-empty string' });
  t.strictSame(fieldOfMessage('bad request: condition.clear must be at most 70'), { field: 'condition.clear', message: 'must be at most 70' }, 'after the catalog words');
  t.strictSame(fieldOfMessage('unknown metric: condition.metric: device "d" declares no metric "x"'), { field: 'condition.metric', message: 'device "d" declares no metric "x"' });
  t.strictSame(fieldOfMessage('the hub is busy'), { field: 'form', message: 'the hub is busy' });
  t.strictSame(fieldOfMessage('too many: try later'), { field: 'form', message: 'too many: try later' });
});
