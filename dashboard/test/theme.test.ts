import t from 'tap';
import { isThemeChoice, loadTheme, saveTheme, themeAttribute, THEME_STORAGE_KEY } from '../src/data/theme.js';
import type { KeyValueStorage } from '../src/data/token-storage.js';

function memoryStorage(): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

t.test('the theme follows the system until a choice is saved', async (t) => {
  const storage = memoryStorage();
  t.equal(loadTheme(storage), 'system');
  saveTheme(storage, 'dark');
  t.equal(storage.data.get(THEME_STORAGE_KEY), 'dark');
  t.equal(loadTheme(storage), 'dark');
  saveTheme(storage, 'system');
  t.equal(storage.data.has(THEME_STORAGE_KEY), false, 'following the system again stores nothing');
  storage.data.set(THEME_STORAGE_KEY, 'neon');
  t.equal(loadTheme(storage), 'system', 'an unknown saved value is ignored');
  t.equal(loadTheme(undefined), 'system');
});

t.test('storage that throws leaves the default', async (t) => {
  const broken: KeyValueStorage = {
    getItem: () => {
      throw new Error('denied');
    },
    setItem: () => {
      throw new Error('denied');
    },
    removeItem: () => {
      throw new Error('denied');
    },
  };
  t.equal(loadTheme(broken), 'system');
  saveTheme(broken, 'light');
  t.pass('saving does not throw');
});

t.test('the root attribute', async (t) => {
  t.equal(themeAttribute('system'), null);
  t.equal(themeAttribute('light'), 'light');
  t.equal(themeAttribute('dark'), 'dark');
  t.ok(isThemeChoice('dark'));
  t.notOk(isThemeChoice('Dark'));
});
