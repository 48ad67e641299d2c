# syntax=docker/dockerfile:1
# Build: docker build -t phala-drift --build-arg REVISION=$(git rev-parse HEAD) --build-arg CREATED=$(date -u +%FT%TZ) .
# Run:   docker run -p 9477:9477 -v $PWD/config/desired.yaml:/etc/phala-drift/desired.yaml:ro \
#          -e PHALA_CLOUD_API_KEY=phak_... -v phala-drift-data:/var/lib/phala-drift phala-drift
# Once: docker run --rm -e PHALA_CLOUD_API_KEY=phak_... -v $PWD/config/desired.yaml:/etc/phala-drift/desired.yaml:ro \
#          phala-drift plan
#
# Base: node:24-bookworm-slim (Node.js 24.18.1, the current LTS), pinned to the digest of its multi-platform image
# index as Docker Official Images published it on 2026-07-30 (the repo-info listing of node:24-bookworm-slim).
# To refresh: `docker buildx imagetools inspect node:24-bookworm-slim` (the "Digest:" line) or
# `crane digest node:24-bookworm-slim`; put the new digest in BASE_IMAGE, its Node version
# (`docker run --rm node:24-bookworm-slim node --version`) here and in NODE24 of .ci/run, which tests on that Node.
ARG BASE_IMAGE=node:24-bookworm-slim@sha256:235600a8101ab264e117b1768e925532262668dc9b581ef1dd7d96ced463b8e7

FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# no package needs its install scripts at run time (native watchers ship prebuilt), so none run
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# `phala-drift version` reports the commit: there is no .git in the build context, so it comes from REVISION;
# the build ends by bundling the CLI into dist/cli (scripts/bundle.js: the container starts in half the time)
COPY scripts/build-info.js scripts/bundle.js ./scripts/
ARG REVISION=unknown
RUN PHALA_DRIFT_COMMIT="${REVISION}" npm run build
# production dependencies only, without TypeScript sources, declarations, source maps, docs and the CommonJS
# builds an ES-module app never loads (92 MB -> 26 MB, see scripts/prune-production.js)
COPY scripts/prune-production.js ./scripts/
RUN npm prune --omit=dev --no-audit --no-fund --ignore-scripts && node scripts/prune-production.js node_modules

FROM ${BASE_IMAGE}
ARG BASE_IMAGE
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="phala-drift" \
      org.opencontainers.image.description="Terraform-style drift monitor for Phala Cloud apps: Prometheus metrics, alerts, plan reports" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
# glibc keeps freed memory for reuse above its trim threshold, which it raises on its own as large buffers come and
# go (socket reads, zlib): at 10,000 apps that held ~40 MB of RSS nothing used (bench/README.md, "Fleet scale")
ENV NODE_ENV=production \
    PHALA_DRIFT_CONFIG=/etc/phala-drift/desired.yaml \
    LOG_FORMAT=json \
    MALLOC_TRIM_THRESHOLD_=1048576
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
RUN mkdir -p /etc/phala-drift /var/lib/phala-drift && chown node:node /var/lib/phala-drift
USER node
EXPOSE 9477
VOLUME ["/var/lib/phala-drift"]
# node is in the image already: no curl/wget needed for the probe
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9477/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# `docker run IMAGE plan` (or validate, simulate ...) replaces the CMD and keeps the entry point.
# --max-semi-space-size=16: Node 20's young generation, a quarter of Node 24's default, which cost ~90 MiB more RSS at
# 10,000 apps (serve peaked at 403-411 MiB against 307-324 with the flag) for no gain in cycle time (bench/README.md).
ENTRYPOINT ["node", "--max-semi-space-size=16", "dist/main.js"]
CMD ["serve", "--state-dir", "/var/lib/phala-drift"]
