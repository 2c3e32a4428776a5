# One image for every function; Knative picks the function with the
# FUNCTION_TARGET env var. The migrations Job runs the same image with
# `node dist/migrate.js`.

# --- build: full install (esbuild is a dev dependency), bundle into dist/ ---
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The image has Node 24 already: skip the install scripts (among them the
# `node` dev dependency's download of its own binary) and build esbuild's alone.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild esbuild
COPY . .
RUN node scripts/build.mjs

# --- runtime: production dependencies and the bundle, nothing else ---
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts are needed at runtime; skipping them keeps the layer
# to what package-lock.json names.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force
COPY --from=build /app/dist ./dist
# The image's `node` user, by number so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 8080
# Straight to the Functions Framework's entry point: no npx, which would
# want a writable npm cache on a read-only root filesystem. PORT (8080) and
# FUNCTION_TARGET come from the environment Knative gives the container.
# dist/tracing.js starts OpenTelemetry first (OTEL_* variables; nothing
# loads with OTEL_SDK_DISABLED=true).
CMD ["node", "--import=./dist/tracing.js", "node_modules/@google-cloud/functions-framework/build/src/main.js", "--source=dist/functions.js"]
