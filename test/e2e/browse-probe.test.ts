import { it } from "vitest";
import { writeFileSync } from "node:fs";
import { PlantServer } from "../helpers/addressspace.js";
import { tempDir } from "../helpers/env.js";
import { startCli } from "../helpers/cli.js";
it("probe", async () => {
  const d = tempDir("probe");
  const s = await PlantServer.start(d.path + "/pki", { lines: 10, machinesPerLine: 334, utilities: 1500 });
  console.log("vars", s.variables.length, "build", s.buildMs);
  const t = Date.now();
  const r = startCli(["browse", "--endpoint", s.endpoint, "--state", d.path + "/state"]);
  const code = await r.exit;
  console.log("exit", code, Date.now() - t, "ms");
  writeFileSync("/work/main/tmp/browse-probe/out.yaml", r.stdout.join("\n"));
  writeFileSync("/work/main/tmp/browse-probe/err.txt", r.stderr.join(""));
  await s.stop(); d.remove();
}, 120000);
