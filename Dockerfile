# Build stage: compile TypeScript with the dev dependencies, then drop them (npm prune), so the run
# stage copies production dependencies built by the same npm ci.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY demo ./demo
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Run stage: production dependencies and the compiled gateway only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
# Held messages survive a restart here (WS_STATE_FILE; mount a volume on /var/lib/octoway to keep
# them across containers). Owned by the runtime user: the start checks it can write there.
RUN mkdir -p /var/lib/octoway && chown node:node /var/lib/octoway
ENV WS_STATE_FILE=/var/lib/octoway/held.json
USER node
EXPOSE 7890
# GET /version's commit: docker build --build-arg COMMIT=$(git rev-parse --short HEAD) .
ARG COMMIT=unknown
ENV OCTOWAY_COMMIT=$COMMIT
# Goctopus's --healthcheck: probes /healthz on the configured port (WS_PORT, or a WS_CONFIG file) and exits 0 or 1.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["node", "dist/src/main.js", "--healthcheck"]
# node directly (not npm) so SIGTERM from the orchestrator reaches the gateway with no shell in
# between; the same flags as `npm start` (docs/operations.md says why).
CMD ["node", "--max-semi-space-size=2", "dist/src/main.js"]
