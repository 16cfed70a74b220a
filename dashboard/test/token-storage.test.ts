import t from 'tap';
import { adoptToken, clearToken, loadToken, saveToken, takeTokenFromHash, TOKEN_STORAGE_KEY, type KeyValueStorage } from '../src/data/token-storage.js';

function memoryStorage(initial: Record<string, string> = {}): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map(Object.entries(initial));
  return {
    data,
    getItem: (key) => data.get(key) ?? null,
    setItem: (key, value) => void data.set(key, value),
    removeItem: (key) => void data.delete(key),
  };
}

function fakeWindow(hash: string, storage: KeyValueStorage | undefined) {
  const replaced: string[] = [];
  return {
    replaced,
    env: {
      location: { hash, pathname: '/', search: '?x=1' },
      history: { state: null, replaceState: (_state: unknown, _unused: string, url: string) => void replaced.push(url) },
      storage,
    },
  };
}

t.test('takeTokenFromHash', async (t) => {
  t.strictSame(takeTokenFromHash('#token=abc'), { token: 'abc', hash: '' });
  t.strictSame(takeTokenFromHash('#view=list&token=abc&x=1'), { token: 'abc', hash: '#view=list&x=1' });
  t.strictSame(takeTokenFromHash('#token=a+b%2Fc'), { token: 'a+b/c', hash: '' }, 'a "+" stays a "+"');
  t.strictSame(takeTokenFromHash('#token='), { token: null, hash: '' }, 'an empty token is stripped, not used');
  t.strictSame(takeTokenFromHash('#token=%E0%A4%A'), { token: null, hash: '' }, 'bad encoding is stripped, not used');
  t.strictSame(takeTokenFromHash('#other'), { token: null, hash: '#other' });
  t.strictSame(takeTokenFromHash(''), { token: null, hash: '' });
});

t.test('a token in the fragment is saved and stripped from the address bar', async (t) => {
  const storage = memoryStorage();
  const win = fakeWindow('#token=s3cret', storage);
  t.equal(adoptToken(win.env), 's3cret');
  t.equal(storage.data.get(TOKEN_STORAGE_KEY), 's3cret');
  t.strictSame(win.replaced, ['/?x=1']);
});

t.test('without a fragment the saved token is used and the URL is left alone', async (t) => {
  const storage = memoryStorage({ [TOKEN_STORAGE_KEY]: 'saved' });
  const win = fakeWindow('#view=list', storage);
  t.equal(adoptToken(win.env), 'saved');
  t.strictSame(win.replaced, []);
  t.equal(adoptToken(fakeWindow('', memoryStorage()).env), null, 'nothing saved: ask');
});

t.test('storage that throws or is missing degrades to "ask again"', async (t) => {
  const broken: KeyValueStorage = {
    getItem: () => {
      throw new Error('SecurityError');
    },
    setItem: () => {
      throw new Error('QuotaExceededError');
    },
    removeItem: () => {
      throw new Error('SecurityError');
    },
  };
  t.equal(loadToken(broken), null);
  t.doesNotThrow(() => saveToken(broken, 'x'));
  t.doesNotThrow(() => clearToken(broken));
  t.equal(loadToken(undefined), null);
  const win = fakeWindow('#token=abc', broken);
  t.equal(adoptToken(win.env), 'abc', 'the fragment token still works for this page load');
  const storage = memoryStorage({ [TOKEN_STORAGE_KEY]: 'x' });
  clearToken(storage);
  t.equal(storage.data.size, 0);
});
