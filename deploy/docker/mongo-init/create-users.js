// Runs once, when the MongoDB data volume is first initialised (docker-entrypoint-initdb.d).
// One user per service with readWrite on that service's own database only: a service never reads
// another's database (ARCHITECTURE.md), and now it cannot either.
const fs = require("fs");
for (const service of ["intake", "routing", "resolution", "notify"]) {
  const database = `lienthong_${service}`;
  const password = fs.readFileSync(`/run/secrets/mongo_${service}_password`, "utf8").trim();
  db.getSiblingDB(database).createUser({
    user: `lienthong_${service}`,
    pwd: password,
    roles: [{ role: "readWrite", db: database }],
  });
}
