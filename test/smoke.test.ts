import { UpdateError } from '../main/updater/errors';
test('error data is plain', () => {
  expect(new UpdateError('NETWORK', 'x').toData()).toEqual({ code: 'NETWORK', message: 'x', retryable: true });
});
