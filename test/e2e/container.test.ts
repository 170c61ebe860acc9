import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { parseShard, selectShard } from "../../src/flows/shard.js";
import { tempDir } from "../helpers/env.js";

// What can be checked of the container image without a container engine: the Dockerfile's shape,
// and its stages replayed on this machine (the same COPYs from a context filtered by .dockerignore,
// the same npm commands), ending with the image's ENTRYPOINT + CMD run from the production install.
// Also the compose file and the Kubernetes manifests, read as YAML.

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");

interface Instruction {
  cmd: string;
  args: string;
  line: number;
}
interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** A Dockerfile as stages of instructions: continuation lines joined, comments dropped, ARGs before FROM applied. */
function parseDockerfile(text: string): { stages: Stage[]; args: Record<string, string> } {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) {
      line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile:${start}: cannot read "${line}"`);
    const cmd = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (cmd === "ARG" && stages.length === 0) {
      const [k, v] = rest.split("=");
      args[k!] = v ?? "";
    } else if (cmd === "FROM") {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)!;
      const from = f[1]!.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? "");
      stages.push({ name: f[2] ?? String(stages.length), from, instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`Dockerfile:${start}: ${cmd} before FROM`);
      stages.at(-1)!.instructions.push({ cmd, args: rest, line: start });
    }
  }
  return { stages, args };
}

const jsonArray = (s: string) => JSON.parse(s) as string[];
const all = (stage: Stage, cmd: string) => stage.instructions.filter((i) => i.cmd === cmd);
const one = (stage: Stage, cmd: string) => {
  const found = all(stage, cmd);
  expect(found, `${cmd} in stage ${stage.name}`).toHaveLength(1);
  return found[0]!;
};

/** .dockerignore as Docker reads it: patterns anchored at the context root, a match excludes everything below. */
function dockerignore(text: string): (path: string) => boolean {
  const patterns = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  if (patterns.some((p) => p.startsWith("!"))) throw new Error("teach this test's .dockerignore reader about ! exceptions");
  const regexes = patterns.map((p) => {
    const body = p
      .replace(/^\/+|\/+$/g, "")
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*\*\/?/g, "\u0000")
      .replace(/\*/g, "[^/]*")
      .replace(/\?/g, "[^/]")
      .replace(/\u0000/g, ".*");
    return new RegExp(`^${body}(/.*)?$`);
  });
  return (path) => regexes.some((r) => r.test(path));
}

/** At the lowest CPU priority: compiling a native addon must not starve the timing-sensitive tests beside it. */
function run(command: string, cwd: string, env: Record<string, string | undefined>, timeoutMs: number) {
  const r = spawnSync("nice", ["-n", "19", "sh", "-c", command], { cwd, env: env as NodeJS.ProcessEnv, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    throw new Error(`"${command}" in ${cwd} failed (${r.error?.message ?? `exit ${r.status}, signal ${r.signal}`}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  }
  return r;
}

const work = tempDir("container");
afterAll(() => work.remove());

const dockerfile = parseDockerfile(read("Dockerfile"));
const runtime = dockerfile.stages.at(-1)!;
const stage = (name: string) => dockerfile.stages.find((s) => s.name === name)!;

describe("Dockerfile", () => {
  it("is multi-stage on node:22-bookworm-slim: build (dev deps + tsc), production deps only, slim runtime", () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(["build", "prod-deps", "runtime"]);
    for (const s of dockerfile.stages) expect(s.from, s.name).toBe("node:22-bookworm-slim");
    const build = stage("build");
    const buildRuns = all(build, "RUN").map((r) => r.args);
    expect(buildRuns.some((r) => /^npm ci\b/.test(r) && !r.includes("--omit=dev"))).toBe(true);
    expect(buildRuns).toContain("npm run build");
    expect(all(stage("prod-deps"), "RUN").some((r) => /^npm ci --omit=dev\b/.test(r.args))).toBe(true);
    // The runtime gets node_modules from the production install and dist from the build, nothing else built.
    const copies = all(runtime, "COPY").map((c) => c.args);
    expect(copies).toContain("--from=prod-deps /app/node_modules ./node_modules");
    expect(copies).toContain("--from=build /app/dist ./dist");
    expect(all(runtime, "RUN").every((r) => !/npm (ci|install)/.test(r.args))).toBe(true);
    expect(all(runtime, "ENV").map((i) => i.args)).toEqual(["NODE_ENV=production", "NODE_OPTIONS=\"--max-old-space-size=1024\""]);
  });

  it("runs as a non-root user, keeps state in a /state volume, stops on SIGTERM, exposes the ops port", () => {
    const user = one(runtime, "USER").args.split(":")[0]!;
    expect(user).not.toMatch(/^(root|0)$/);
    expect(user).toBe("1000"); // numeric, so Kubernetes' runAsNonRoot can check it
    expect(jsonArray(one(runtime, "VOLUME").args)).toEqual(["/state"]);
    expect(one(runtime, "STOPSIGNAL").args).toBe("SIGTERM");
    expect(one(runtime, "EXPOSE").args).toBe("9464");
    expect(jsonArray(one(runtime, "ENTRYPOINT").args)).toEqual(["/bin/sh", "/app/docker-entrypoint.sh"]);
    expect(all(runtime, "COPY").map((c) => c.args)).toContain("deploy/docker/entrypoint.sh ./docker-entrypoint.sh");
    expect(jsonArray(one(runtime, "CMD").args)).toEqual(["run", "--config", "/config/mapping.yaml"]);
    expect(one(runtime, "WORKDIR").args).toBe("/app");
  });

  it("has a HEALTHCHECK on /healthz with node's fetch (no curl): 0 when healthy, 1 otherwise, with the ops token", async () => {
    const hc = one(runtime, "HEALTHCHECK").args;
    expect(hc).toMatch(/--interval=\d+s/);
    expect(hc).toMatch(/--timeout=\d+s/);
    expect(hc).toMatch(/--start-period=\d+s/);
    const argv = jsonArray(hc.slice(hc.indexOf("CMD") + 3).trim());
    expect(argv.slice(0, 2)).toEqual(["node", "-e"]);
    expect(hc).not.toMatch(/curl|wget/);
    const script = argv[2]!;
    expect(script).toContain("http://127.0.0.1:9464");
    expect(script).toContain("'/healthz'");
    new Script(script); // compiles

    // Run the exact script against a stand-in ops listener (same path, other port).
    let status = 200;
    let seen: IncomingHttpHeaders = {};
    let path = "";
    const server = createServer((req, res) => {
      seen = req.headers;
      path = req.url ?? "";
      res.writeHead(status).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const tokenFile = join(work.path, "ops-token");
    writeFileSync(tokenFile, "from-a-file\n");
    const probe = (env: Record<string, string> = {}, args: string[] = [], target = `http://127.0.0.1:${port}`) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ["-e", script.replace("http://127.0.0.1:9464", target), ...args], {
          env: { ...process.env, OPS_TOKEN: "", OPS_TOKEN_FILE: "", ...env },
          stdio: "ignore",
        });
        child.on("exit", resolve);
      });
    try {
      expect(await probe()).toBe(0);
      expect(path).toBe("/healthz");
      expect(seen.authorization).toBeUndefined();
      expect(await probe({ OPS_TOKEN: "t0k3n" })).toBe(0);
      expect(seen.authorization).toBe("Bearer t0k3n");
      expect(await probe({ OPS_TOKEN_FILE: tokenFile }, ["/readyz"])).toBe(0);
      expect(seen.authorization).toBe("Bearer from-a-file");
      expect(path).toBe("/readyz");
      status = 503;
      expect(await probe()).toBe(1);
      status = 401;
      expect(await probe()).toBe(1);
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(await probe({}, [], "http://127.0.0.1:1")).toBe(1); // nothing listening
  });

  it("the entry point sizes the young generation for run and backfill, and an operator's own setting wins", () => {
    // The real script and the real node; main.js is a stand-in that reports what node was given.
    const app = join(work.path, "entrypoint");
    mkdirSync(join(app, "dist", "cli"), { recursive: true });
    cpSync(join(ROOT, "deploy", "docker", "entrypoint.sh"), join(app, "docker-entrypoint.sh"));
    writeFileSync(join(app, "dist", "cli", "main.js"), "console.log(JSON.stringify({ options: process.env.NODE_OPTIONS ?? null, args: process.argv.slice(2) }));\n");
    const imageEnv = /^NODE_OPTIONS="(.*)"$/.exec(all(runtime, "ENV").map((i) => i.args).find((a) => a.startsWith("NODE_OPTIONS="))!)![1]!;
    const start = (args: string[], nodeOptions: string | undefined) => {
      const env: Record<string, string | undefined> = { ...process.env, NODE_OPTIONS: nodeOptions };
      if (nodeOptions === undefined) delete env.NODE_OPTIONS;
      // `node` on the PATH, as in the image.
      env.PATH = `${dirname(process.execPath)}:${env.PATH ?? ""}`;
      const r = spawnSync("/bin/sh", [join(app, "docker-entrypoint.sh"), ...args], { env: env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { options: string | null; args: string[] };
    };
    expect(start(["run", "--config", "/config/my mapping.yaml"], imageEnv)).toEqual({
      options: "--max-old-space-size=1024 --max-semi-space-size=8",
      args: ["run", "--config", "/config/my mapping.yaml"],
    });
    expect(start(["backfill", "--config", "/config/mapping.yaml", "--from", "-1d"], imageEnv)).toEqual({
      options: "--max-old-space-size=1024 --max-semi-space-size=64",
      args: ["backfill", "--config", "/config/mapping.yaml", "--from", "-1d"],
    });
    expect(start(["validate", "--config", "/config/mapping.yaml"], imageEnv).options).toBe("--max-old-space-size=1024");
    expect(start(["run", "--config", "m.yaml"], "--max-old-space-size=2048 --max-semi-space-size=16").options).toBe("--max-old-space-size=2048 --max-semi-space-size=16");
    expect(start(["run", "--config", "m.yaml"], undefined).options).toBe("--max-semi-space-size=8");
    expect(start(["backfill", "--config", "m.yaml"], "--max_semi_space_size=4").options).toBe("--max_semi_space_size=4");
    expect(start(["--version"], imageEnv)).toEqual({ options: "--max-old-space-size=1024", args: ["--version"] });
  });

  it(".dockerignore keeps local state, builds, dependencies and git out of the context", () => {
    const ignored = dockerignore(read(".dockerignore"));
    for (const p of ["node_modules", "node_modules/x/index.js", "dist/cli/main.js", "state/pki/own/private/private_key.pem", ".git/HEAD", "dist-bench", "deploy/k8s/statefulset.yaml", "tmp/x", "npm-debug.log"]) {
      expect(ignored(p), p).toBe(true);
    }
    for (const p of ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "src/cli/main.ts", "mappings/demo.yaml", "deploy/docker/entrypoint.sh"]) {
      expect(ignored(p), p).toBe(false);
    }
  });
});

describe("the image's stages, replayed without a container engine", () => {

  it(
    "builds from the filtered context, installs production dependencies only, and the ENTRYPOINT + CMD work from them",
    () => {
      // The build context: what `docker build .` would send, i.e. the repository minus .dockerignore.
      const ignored = dockerignore(read(".dockerignore"));
      const context = join(work.path, "context");
      const copyContext = (rel: string) => {
        const from = join(ROOT, rel);
        if (!existsSync(from)) throw new Error(`the Dockerfile COPYs ${rel}, which does not exist`);
        if (ignored(rel)) throw new Error(`the Dockerfile COPYs ${rel}, which .dockerignore excludes`);
        cpSync(from, join(context, rel), { recursive: true, filter: (src) => !ignored(relative(ROOT, src).split("\\").join("/")) });
      };

      const roots = new Map<string, string>(); // stage name → its filesystem root
      // Docker's node image has no NODE_ENV; vitest's worker sets NODE_ENV=test: start from a clean slate.
      const baseEnv: Record<string, string | undefined> = { ...process.env, NODE_ENV: undefined };
      for (const key of Object.keys(baseEnv)) if (key.startsWith("npm_")) delete baseEnv[key];
      const skipped: string[] = [];

      for (const s of dockerfile.stages) {
        const root = join(work.path, "stages", s.name);
        roots.set(s.name, root);
        const env = { ...baseEnv };
        let workdir = "/";
        const inRoot = (p: string) => join(root, p.startsWith("/") ? p : join(workdir, p));
        for (const ins of s.instructions) {
          if (ins.cmd === "WORKDIR") {
            workdir = ins.args;
            mkdirSync(inRoot("."), { recursive: true });
          } else if (ins.cmd === "ENV") {
            const [k, ...v] = ins.args.split("=");
            env[k!] = v.join("=");
          } else if (ins.cmd === "COPY") {
            const parts = ins.args.split(/\s+/);
            const from = parts[0]!.startsWith("--from=") ? parts.shift()!.slice("--from=".length) : undefined;
            const dest = parts.pop()!;
            for (const src of parts) {
              if (/[*?[]/.test(src)) throw new Error(`Dockerfile:${ins.line}: teach this test about COPY wildcards`);
              if (from) {
                const fromRoot = roots.get(from);
                if (!fromRoot) throw new Error(`Dockerfile:${ins.line}: COPY --from=${from}: no such earlier stage`);
                cpSync(join(fromRoot, src), dest.endsWith("/") ? join(inRoot(dest), src.split("/").pop()!) : inRoot(dest), { recursive: true, verbatimSymlinks: true });
              } else {
                copyContext(src);
                const target = dest.endsWith("/") || parts.length > 1 ? join(inRoot(dest), src) : inRoot(dest);
                cpSync(join(context, src), target, { recursive: true });
              }
            }
          } else if (ins.cmd === "RUN") {
            const cwd = inRoot(".");
            if (/^apt-get update/.test(ins.args)) {
              // The native-addon toolchain (python3, make, g++) is on this machine already.
              skipped.push(ins.args);
              continue;
            }
            if (/^mkdir -p \/state/.test(ins.args)) {
              // Creates the root-owned folders of the image (/state, /config): needs root and a real image.
              skipped.push(ins.args);
              continue;
            }
            for (const step of ins.args.split("&&").map((x) => x.trim())) {
              if (!/^npm (ci|run build)\b/.test(step)) throw new Error(`Dockerfile:${ins.line}: teach this test about "${step}"`);
              // Offline-ish: what the lock file names is in npm's cache after the repository's own npm ci.
              const command = step.startsWith("npm ci") ? `${step} --prefer-offline` : step;
              run(command, cwd, env, 200_000);
            }
          }
        }
      }
      expect(skipped).toHaveLength(2);

      const app = join(roots.get("runtime")!, "app");
      const entrypoint = jsonArray(one(runtime, "ENTRYPOINT").args);
      const cmd = jsonArray(one(runtime, "CMD").args);
      const image = (args: string[]) => {
        const [exe, script] = entrypoint as [string, string];
        expect(exe).toBe("/bin/sh");
        const r = spawnSync(exe, [join(app, relative("/app", script)), ...args], {
          cwd: app,
          env: { ...process.env, NODE_ENV: "production", PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}` },
          encoding: "utf8",
          timeout: 30_000,
        });
        return r;
      };

      // Production dependencies only: no compiler, no test runner; the runtime ones are there.
      const modules = readdirSync(join(app, "node_modules"));
      expect(modules).not.toContain("typescript");
      expect(modules).not.toContain("vitest");
      const pkg = JSON.parse(read("package.json")) as { version: string; dependencies: Record<string, string> };
      for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(join(app, "node_modules", dep)), dep).toBe(true);
      // What the lock file marks dev-only (dev dependencies and what only they need) is left out.
      const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, { dev?: boolean }> };
      const devOnly = Object.entries(lock.packages).filter(([path, p]) => p.dev && path.startsWith("node_modules/")).map(([path]) => path);
      expect(devOnly.length).toBeGreaterThan(0);
      for (const path of devOnly) expect(existsSync(join(app, path)), path).toBe(false);
      // Of the sources, only the status page's static files ship (served next to dist/ops).
      expect(readdirSync(join(app, "src"))).toEqual(["ops"]);
      expect(readdirSync(join(app, "src", "ops"))).toEqual(["page"]);
      expect(existsSync(join(app, "src", "ops", "page", "index.html"))).toBe(true);

      const version = image(["--version"]);
      expect(version.status, version.stderr).toBe(0);
      expect(version.stdout.trim()).toBe(pkg.version);

      // The CMD's command line, asked for its help: the options parse and the command exists.
      const help = image([...cmd, "--help"]);
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toContain("opcua-ingest run --config FILE");

      // Every compiled module loads with the production dependencies alone (a runtime import of a
      // dev dependency, or a native addon that did not build, fails here rather than in production).
      const modulesJs: string[] = [];
      const walk = (dir: string) => {
        for (const e of readdirSync(dir)) {
          const p = join(dir, e);
          if (statSync(p).isDirectory()) walk(p);
          else if (p.endsWith(".js") && p !== join(app, "dist", "cli", "main.js")) modulesJs.push(p);
        }
      };
      walk(join(app, "dist"));
      expect(modulesJs.length).toBeGreaterThan(10);
      const load = spawnSync(
        process.execPath,
        ["--input-type=module", "-e", `for (const m of ${JSON.stringify(modulesJs)}) await import(m); process.exit(0);`],
        { cwd: app, env: { ...process.env, NODE_ENV: "production" }, encoding: "utf8", timeout: 60_000 },
      );
      expect(load.status, load.stderr.slice(-3000)).toBe(0);

      // The shipped mappings are in the image, and the demo mapping validates there.
      const validate = image(["validate", "--config", join(app, "mappings", "demo.yaml")]);
      expect(validate.status, validate.stderr).toBe(0);
      
    },
    420_000,
  );
});

describe("docker-compose.yml and deploy/k8s", () => {
  it("compose runs the emulator and the connector (mapping read-only, /state volume, 30 s stop grace)", () => {
    const compose = parseYaml(read("docker-compose.yml")) as {
      services: Record<string, { command?: string[]; volumes?: string[]; stop_grace_period?: string; environment?: Record<string, string>; build?: unknown; image?: string }>;
      volumes: Record<string, unknown>;
    };
    const { emulator, connector } = compose.services;
    expect(emulator!.command).toEqual(expect.arrayContaining(["emulator", "--host", "0.0.0.0"]));
    expect(connector!.command).toEqual(expect.arrayContaining(["run", "--config", "/config/mapping.yaml"]));
    expect(connector!.volumes!.some((v) => v.endsWith(":/config/mapping.yaml:ro"))).toBe(true);
    expect(connector!.volumes!.some((v) => /^[\w-]+:\/state$/.test(v))).toBe(true);
    expect(connector!.stop_grace_period).toBe("30s");
    expect(connector!.environment!.DEMO_API_URL).toBe("http://emulator:8480/ingest");
    expect(connector!.environment!.DEMO_TOKEN_URL).toBe("http://emulator:8480/oauth/token");
  });

  it("Kubernetes: a StatefulSet with one shard per replica, per-replica /state, probes on 9464, non-root", () => {
    const docs = readdirSync(join(ROOT, "deploy", "k8s"))
      .filter((f) => f.endsWith(".yaml"))
      .flatMap((f) => parseAllDocuments(read(join("deploy", "k8s", f))).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: any; data?: any; stringData?: any }))
      .filter((d) => d && d.kind !== "Kustomization");
    const kinds = docs.map((d) => d.kind).sort();
    expect(kinds).toEqual(["ConfigMap", "Secret", "Service", "StatefulSet"]);
    const sts = docs.find((d) => d.kind === "StatefulSet")!;
    const svc = docs.find((d) => d.kind === "Service")!;
    const cm = docs.find((d) => d.kind === "ConfigMap")!;
    const secret = docs.find((d) => d.kind === "Secret")!;
    expect(svc.spec.clusterIP).toBe("None");
    expect(sts.spec.serviceName).toBe(svc.metadata.name);
    const pod = sts.spec.template.spec;
    const c = pod.containers[0];
    const shard = c.args[c.args.indexOf("--shard") + 1] as string;
    expect(shard).toBe(`auto/${sts.spec.replicas}`);
    expect(c.args.slice(0, 3)).toEqual(["run", "--config", "/config/mapping.yaml"]);
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    // The probes run the image's HEALTHCHECK script (it sends the ops token) on /healthz and /readyz.
    const hc = one(runtime, "HEALTHCHECK").args;
    const healthcheck = jsonArray(hc.slice(hc.indexOf("CMD") + 3).trim());
    expect(c.livenessProbe.exec.command).toEqual([...healthcheck, "/healthz"]);
    expect(c.readinessProbe.exec.command).toEqual([...healthcheck, "/readyz"]);
    expect(c.ports).toContainEqual({ name: "ops", containerPort: 9464 });
    expect(c.env.find((e: any) => e.name === "OPS_TOKEN").valueFrom.secretKeyRef.name).toBe(secret.metadata.name);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBe(1000);
    expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    // /state per replica from the claim template; the mapping from the ConfigMap, read-only.
    const claim = sts.spec.volumeClaimTemplates[0].metadata.name;
    expect(c.volumeMounts).toContainEqual(expect.objectContaining({ name: claim, mountPath: "/state" }));
    const configMount = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === "/config");
    expect(configMount.readOnly).toBe(true);
    const configVolume = pod.volumes.find((v: { name: string }) => v.name === configMount.name);
    expect(configVolume.configMap.name).toBe(cm.metadata.name);
    // The mapping in the ConfigMap: state in the volume, ops listener reachable by the kubelet.
    const mapping = parseYaml(cm.data["mapping.yaml"]) as { state: string; ops: { listen: string }; points: { pointId: string }[] };
    expect(mapping.state).toBe("/state");
    expect(mapping.ops.listen).toBe("0.0.0.0:9464");
    // Every replica has points: an empty shard would exit 2 and crash-loop.
    for (let index = 0; index < sts.spec.replicas; index++) {
      expect(selectShard(mapping.points, parseShard(shard, `opcua-ingest-${index}`)).length, `replica ${index}`).toBeGreaterThan(0);
    }
    // Secrets come from the Secret, as environment variables.
    const fromSecret = c.env.filter((e: any) => e.valueFrom?.secretKeyRef?.name === secret.metadata.name).map((e: any) => e.name);
    expect(fromSecret).toEqual(expect.arrayContaining(["CLIENT_SECRET"]));
    for (const v of Object.values(secret.stringData) as string[]) expect(v).toMatch(/^<.*>$/);
  });
});
