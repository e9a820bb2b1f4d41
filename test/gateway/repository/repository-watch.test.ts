import t from 'tap';
import { repositoryChanges } from '../../../gateway/repository/repository-watch.ts';

t.test('between two scans: changed and new models load again, gone ones unload', async (t) => {
  const before = new Map([['same', 'a'], ['changed', 'b'], ['gone', 'c']]);
  const now = new Map([['same', 'a'], ['changed', 'b2'], ['new', 'd']]);
  t.same(repositoryChanges(before, now), { load: ['changed', 'new'], unload: ['gone'] });
  t.same(repositoryChanges(now, now), { load: [], unload: [] }, 'nothing changed, nothing to do');
});
