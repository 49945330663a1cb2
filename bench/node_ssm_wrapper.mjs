// A peer for `make bench` (SSM rows): the AWS SDK for JavaScript v3 (@aws-sdk/client-ssm,
// installed by `make bench-node` into bench/node), as a Node entrypoint reads Parameter Store:
// GetParameters with WithDecryption, batches of 10 names (the API's limit) one after another,
// as the boto3 wrapper does; the values into the environment, then the app as a child (Node
// cannot exec in place).
//
// usage: node node_ssm_wrapper.mjs LIST COMMAND [ARG...]
// LIST: one "VAR PARAMETER_NAME" per line. Endpoint: AWS_ENDPOINT_URL_SSM (the SDK reads the
// per-service variable); CA: NODE_EXTRA_CA_CERTS.
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(new URL("./node/", import.meta.url));
const { SSMClient, GetParametersCommand } = require("@aws-sdk/client-ssm");

const [list, cmd, ...args] = process.argv.slice(2);
if (!list || !cmd) {
  console.error("usage: node_ssm_wrapper.mjs LIST COMMAND [ARG...]");
  process.exit(64);
}
const wanted = readFileSync(list, "utf8").split("\n").map((l) => l.trim().split(/\s+/))
  .filter(([name]) => name);
const client = new SSMClient({ region: process.env.AWS_REGION });
const env = { ...process.env };
for (let i = 0; i < wanted.length; i += 10) {
  const batch = wanted.slice(i, i + 10);
  const r = await client.send(new GetParametersCommand({
    Names: batch.map(([, name]) => name), WithDecryption: true }));
  if (r.InvalidParameters?.length) {
    console.error(`parameters not found: ${r.InvalidParameters.join(", ")}`);
    process.exit(1);
  }
  const values = new Map((r.Parameters ?? []).map((p) => [p.Name, p.Value]));
  for (const [v, name] of batch) env[v] = values.get(name);
}
client.destroy();
const c = spawnSync(cmd, args, { stdio: "inherit", env });
process.exit(c.status ?? 1);
