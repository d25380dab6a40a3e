# syntax=docker/dockerfile:1.7
# Build: docker build -t greenlight .   Run (Redis on the host; inside the container 127.0.0.1 is the container):
#   docker run --env-file .env -e REDIS_URL=redis://host.docker.internal:6379 \
#     --add-host=host.docker.internal:host-gateway -p 3000:3000 greenlight
# (or docker compose up -d: greenlight plus Redis with persistence, see docker-compose.yml)

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-slim AS runtime
ENV NODE_ENV=production PORT=3000
WORKDIR /app
# Code and dependencies stay owned by root: the service (user node) can read but not change them.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json manifest.yml ./
COPY bin ./bin
USER node
EXPOSE 3000
# Every role answers /healthz on PORT (ROLE=worker serves only /healthz, /readyz and /metrics).
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM reaches node directly (exec form): greenlight finishes in-flight work, then exits.
# The operator CLI in the image: docker compose exec greenlight node bin/greenlight.js doctor
# The same V8 options as npm start (BENCHMARKS.md): the young generation capped at 4 MB per semi-space, and the old
# generation collected once it has grown by a fifth (not up to fourfold): about half the peak memory, no measurable CPU cost
CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=20", "--optimize-for-size", "dist/main.js"]
