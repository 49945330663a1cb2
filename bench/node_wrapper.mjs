// A peer for `make bench`: the AWS SDK for JavaScript v3 (@aws-sdk/client-secrets-manager,
// installed by `make bench-node` into bench/node), as a Node entrypoint does it: one
// GetSecretValue per secret (as the boto3 wrapper, and the SDK's own sample), JSON.parse,
// the values into the environment, then the app as a child (Node cannot exec in place).
//
// usage: node node_wrapper.mjs LIST COMMAND [ARG...]
// LIST: one "VAR SECRET_ID [JSON_KEY]" per line. Endpoint: AWS_ENDPOINT_URL (the SDK reads
// it); CA: NODE_EXTRA_CA_CERTS.
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(new URL("./node/", import.meta.url));
const { SecretsManagerClient, GetSecretValueCommand } = require("@aws-sdk/client-secrets-manager");

const [list, cmd, ...args] = process.argv.slice(2);
if (!list || !cmd) {
  console.error("usage: node_wrapper.mjs LIST COMMAND [ARG...]");
  process.exit(64);
}
const client = new SecretsManagerClient({ region: process.env.AWS_REGION });
const env = { ...process.env };
for (const line of readFileSync(list, "utf8").split("\n")) {
  const [name, id, key] = line.trim().split(/\s+/);
  if (!name) continue;
  const r = await client.send(new GetSecretValueCommand({ SecretId: id }));
  const text = r.SecretString ?? Buffer.from(r.SecretBinary).toString("utf8");
  env[name] = key ? String(JSON.parse(text)[key]) : text;
}
client.destroy();
const c = spawnSync(cmd, args, { stdio: "inherit", env });
process.exit(c.status ?? 1);
