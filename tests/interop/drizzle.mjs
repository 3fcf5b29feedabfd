// drizzle-orm's own code, driven by pgrunbook's interoperability tests.
//   node drizzle.mjs hashes DIR    -> JSON [{tag, when, hash}] as drizzle's readMigrationFiles computes them
//   node drizzle.mjs migrate DIR   -> runs drizzle's migrator (node-postgres) on $DATABASE_URL
//   node drizzle.mjs hashes1 DIR   -> JSON [{name, when, hash}] as drizzle 1.0's readMigrationFiles computes them
//   node drizzle.mjs migrate1 DIR  -> runs drizzle 1.0's migrator (node-postgres) on $DATABASE_URL
// drizzle 1.0 is the npm alias drizzle-orm-1 (1.0.0-rc.*), beside 0.45 as drizzle-orm.
// The database URL comes from the environment, never argv.
import { readMigrationFiles } from "drizzle-orm/migrator";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { readMigrationFiles as readMigrationFiles1 } from "drizzle-orm-1/migrator";
import { drizzle as drizzle1 } from "drizzle-orm-1/node-postgres";
import { migrate as migrate1 } from "drizzle-orm-1/node-postgres/migrator";
import pg from "pg";

const [command, dir] = process.argv.slice(2);

if (command === "hashes") {
  const journal = (await import("node:fs")).readFileSync(`${dir}/meta/_journal.json`, "utf8");
  const tags = JSON.parse(journal).entries.map((e) => e.tag);
  const files = readMigrationFiles({ migrationsFolder: dir });
  console.log(JSON.stringify(files.map((f, i) => ({ tag: tags[i], when: f.folderMillis, hash: f.hash }))));
} else if (command === "hashes1") {
  const files = readMigrationFiles1({ migrationsFolder: dir });
  console.log(JSON.stringify(files.map((f) => ({ name: f.name, when: f.folderMillis, hash: f.hash }))));
} else if (command === "migrate" || command === "migrate1") {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    if (command === "migrate") await migrate(drizzle(client), { migrationsFolder: dir });
    else await migrate1(drizzle1({ client }), { migrationsFolder: dir });
  } finally {
    await client.end();
  }
  console.log(JSON.stringify({ ok: true }));
} else {
  console.error("usage: node drizzle.mjs hashes|migrate|hashes1|migrate1 DIR");
  process.exit(2);
}
