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
# node is in the image, curl is not: a one-line fetch of /healthz on the gateway's own port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.WS_PORT||7890)+'/healthz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node directly (not npm) so SIGTERM from the orchestrator reaches the gateway with no shell in
# between; the same flags as `npm start` (docs/operations.md says why).
CMD ["node", "--max-semi-space-size=2", "dist/src/main.js"]
