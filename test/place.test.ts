// Messages name where something happened, and say what is not known instead of printing -1.
import { expect, test } from 'vitest';
import { placeText } from '../src/report/place.js';

test('known parts are named; unknown ones are said, never printed as -1', () => {
  expect(placeText({ trial: 3, cpu: 1, step: 2, op: 'pin' })).toBe('trial 3, cpu 1, step 2, pin');
  expect(placeText({ trial: 0, cpu: -1 })).toBe('trial 0, no single CPU');
  expect(placeText({ trial: -1, cpu: 2, step: -1, op: 'trial setup/check' })).toBe('outside any trial, cpu 2, trial setup/check');
  expect(placeText({ cpu: 0 })).toBe('cpu 0');
  expect(placeText({ trial: 1, cpu: 0, step: -1 })).not.toMatch(/-1/);
});
