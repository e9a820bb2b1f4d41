# infergate: one image for the gateway and the workers (deploy/kubernetes).
#   docker build -t infergate .
#   docker run --rm -p 8000:8000 infergate gateway --host 0.0.0.0
#   docker run --rm infergate worker --listen 0.0.0.0:9100 --mux-listen 0.0.0.0:9101 --models /app/models

# Build: the demo models are written from the code (nothing is downloaded).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY bin ./bin
COPY common ./common
COPY config ./config
COPY gateway ./gateway
COPY worker ./worker
COPY scripts ./scripts
RUN node scripts/write-demo-models.ts

# Run: production dependencies, the code, the models; no shell tools beyond the base, not root.
FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
USER 10001:10001
EXPOSE 8000 9100 9101
# tini is PID 1: it forwards SIGTERM to node (which drains) and reaps the worker processes a gateway spawns.
# --max-semi-space-size: the young generation the gateway needs, not the 128 MiB V8 would commit (gateway/node-flags.ts).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=16", "/app/bin/infergate.ts"]
CMD ["gateway", "--host", "0.0.0.0"]
