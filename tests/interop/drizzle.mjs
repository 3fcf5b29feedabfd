// drizzle-orm's own code, driven by pgrunbook's interoperability tests.
//   node drizzle.mjs hashes DIR    -> JSON [{tag, when, hash}] as drizzle's readMigrationFiles computes them
//   node drizzle.mjs migrate DIR   -> runs drizzle's migrator (node-postgres) on $DATABASE_URL
// The database URL comes from the environment, never argv.
import { readMigrationFiles } from "drizzle-orm/migrator";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";

const [command, dir] = process.argv.slice(2);

if (command === "hashes") {
  const journal = (await import("node:fs")).readFileSync(`${dir}/meta/_journal.json`, "utf8");
  const tags = JSON.parse(journal).entries.map((e) => e.tag);
  const files = readMigrationFiles({ migrationsFolder: dir });
  console.log(JSON.stringify(files.map((f, i) => ({ tag: tags[i], when: f.folderMillis, hash: f.hash }))));
} else if (command === "migrate") {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await migrate(drizzle(client), { migrationsFolder: dir });
  } finally {
    await client.end();
  }
  console.log(JSON.stringify({ ok: true }));
} else {
  console.error("usage: node drizzle.mjs hashes|migrate DIR");
  process.exit(2);
}
