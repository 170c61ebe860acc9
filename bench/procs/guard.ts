// Preloaded (`node --import`) into every process the benchmark starts, the connector included: the
// process ends itself when the benchmark that started it is gone (it was re-parented), or after a hard
// lifetime cap. So a benchmark killed with SIGKILL leaves nothing running. One timer a second, unref'd.
const parent = process.ppid;
const maxLifetimeMs = Number(process.env.BENCH_MAX_LIFETIME_S ?? 1800) * 1000;
const started = Date.now();
setInterval(() => {
  if (process.ppid !== parent || Date.now() - started > maxLifetimeMs) process.kill(process.pid, "SIGKILL");
}, 1_000).unref();
export {};
