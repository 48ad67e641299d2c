# syntax=docker/dockerfile:1
# Build: docker build -t phala-drift .
# Run:   docker run -p 9477:9477 -v $PWD/config/desired.yaml:/etc/phala-drift/desired.yaml:ro \
#          -e PHALA_CLOUD_API_KEY=phak_... -v phala-drift-data:/var/lib/phala-drift phala-drift

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# no package needs its install scripts at run time (native watchers ship prebuilt), so none run
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PHALA_DRIFT_CONFIG=/etc/phala-drift/desired.yaml \
    LOG_FORMAT=json
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
ENTRYPOINT ["node", "dist/main.js", "serve", "--state-dir", "/var/lib/phala-drift"]
