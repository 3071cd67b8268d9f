import { test } from 'vitest';
import { createTestDatabase } from '../test/helpers/databases.js';
import { openStore, closeStore } from '../src/db/open.js';
import { upgradeDatabase } from '../src/db/schema/upgrade.js';
for (const d of ['sqlite','postgres','mysql'] as const) test(d, async () => {
  const t = await createTestDatabase(d);
  console.log(t.url);
  const s = openStore(t.url);
  const r = await upgradeDatabase(s.db, s.dialect, (l) => console.log(l));
  console.log(r);
  const r2 = await upgradeDatabase(s.db, s.dialect);
  console.log(r2);
  await closeStore(s); await t.drop();
});
