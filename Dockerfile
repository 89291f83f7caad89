# Build stage: compile TypeScript with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY demo ./demo
RUN npx tsc -p tsconfig.json

# Run stage: production dependencies and the compiled gateway only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
USER node
EXPOSE 7890
# node directly (not npm) so SIGTERM from the orchestrator reaches the gateway; the same flags as
# `npm start` (docs/operations.md says why).
CMD ["node", "--max-semi-space-size=2", "dist/src/main.js"]
