# syntax=docker/dockerfile:1
#
# opcua-ingest as a container image.
#
#   docker build -t opcua-ingest .
#   docker run -d --name opcua-ingest \
#     -v "$PWD/mappings/plant.yaml:/config/mapping.yaml:ro" \
#     -v opcua-ingest-state:/state \
#     -e CLIENT_ID -e CLIENT_SECRET -e PARTITION_ID \
#     opcua-ingest
#   docker stop --time 30 opcua-ingest   # SIGTERM, then up to 30 s for the drain (run --drain-timeout, default 10s)
#
# The mapping is mounted read-only at /config/mapping.yaml and should say `state: /state`: the spool,
# the dead letters, backfill checkpoints and the OPC UA PKI (the client certificate the server trusts,
# and the server certificates this client trusts) live in the /state volume and must survive restarts.

ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: every dependency (dev included), compile TypeScript --------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Only tsc runs in this stage: no install scripts, so native addons are not compiled twice.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- prod-deps: production dependencies only, native addons built for the runtime image --------------
FROM ${NODE_IMAGE} AS prod-deps
# A toolchain for native addons without a prebuilt binary for this platform (better-sqlite3);
# it stays in this stage, the runtime image gets only the result.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- runtime -------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# V8 lets its heap grow to several times the live set when the machine has memory to spare (measured:
# 100,000 points, 310 MB live, 1.6 GB RSS without a cap, 0.58 GB with 600 MB at the same CPU). 1 GiB of
# old space holds mappings to about 250,000 points; raise it with the mapping (docker run -e NODE_OPTIONS=...).
# The entry point adds a young generation of 2 x 8 MB for `run` (deploy/docker/entrypoint.sh says why).
ENV NODE_OPTIONS="--max-old-space-size=1024"
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The status page's static files (served from src/ops/page, next to dist/ops).
COPY src/ops/page ./src/ops/page
COPY package.json ./
COPY mappings ./mappings
COPY deploy/docker/entrypoint.sh ./docker-entrypoint.sh
# /state is owned by the unprivileged user (a new named volume takes this ownership); /config holds
# the mapping, mounted read-only. /app/state points to /state so that `demo` works in the image too.
RUN mkdir -p /state /config \
 && chown 1000:1000 /state \
 && ln -s /state /app/state
# The image's "node" user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
VOLUME ["/state"]
# The ops listener (/healthz, /readyz, /metrics): mapping key ops.listen, default 127.0.0.1:9464;
# set it to 0.0.0.0:9464 (with ops.token) to reach it from outside the container.
EXPOSE 9464
STOPSIGNAL SIGTERM
# No curl in the image: Node's fetch. The ops endpoints need the bearer token when the mapping sets
# one (ops.token: ${OPS_TOKEN}, or ops.tokenFile: the file named by OPS_TOKEN_FILE): it is sent from
# these variables. An argument picks another path (/readyz): deploy/k8s's probes run this same script.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const e=process.env,t=e.OPS_TOKEN||(e.OPS_TOKEN_FILE?require('fs').readFileSync(e.OPS_TOKEN_FILE,'utf8').trim():'');fetch('http://127.0.0.1:9464'+(process.argv[1]||'/healthz'),{headers:t?{authorization:'Bearer '+t}:{},signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/bin/sh", "/app/docker-entrypoint.sh"]
CMD ["run", "--config", "/config/mapping.yaml"]
