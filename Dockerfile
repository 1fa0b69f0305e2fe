# syntax=docker/dockerfile:1
# GEKO gateway. Build: docker build -t geko-gateway .
# Run:   docker run --rm -p 8080:8080 -e LIBRECHAT_URL=http://librechat:3080 \
#          -e DATABASE_URL=postgres://... -e JWT_SECRET=... geko-gateway
# Migrations: the image applies them on start unless MIGRATE_ON_START=false; or run them once per deploy
# with `node dist/src/db/migrate-cli.js` (fly.toml's release_command).

# ---- build: all dependencies, TypeScript -> dist/ ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# patches/ fixes a dependency (see README "Dependencies"); npm ci applies it (postinstall: patch-package).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies only ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY sql ./sql
# Without DATABASE_URL the gateway starts an embedded PostgreSQL under /app/.data: let the runtime user
# write there (mount a volume on /app/.data to keep it). Production sets DATABASE_URL.
RUN mkdir -p /app/.data && chown node:node /app/.data
# The official image's unprivileged user (uid 1000).
USER node
EXPOSE 8080
# No curl in slim images: node's fetch. Liveness only (/_gateway/readyz also needs the database and LibreChat).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/_gateway/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself, so the gateway drains (SHUTDOWN_DEADLINE, 25 s).
CMD ["node", "dist/src/main.js"]
