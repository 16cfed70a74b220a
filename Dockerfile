# The hub with its built dashboard. Build: docker build -t iot-hub .
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY protocol/package.json protocol/
COPY hub/package.json hub/
COPY device-sim/package.json device-sim/
COPY demo/package.json demo/
COPY dashboard/package.json dashboard/
COPY bench/package.json bench/
COPY conformance/package.json conformance/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HUB_HOST=0.0.0.0 HUB_DATA_DIR=/data
COPY --from=build /app /app
VOLUME /data
EXPOSE 8080 1883
USER node
# A larger young generation: messages in flight die young (see docs/configuration.md, "Node's young generation").
CMD ["node", "--max-semi-space-size=64", "hub/dist/main.js"]
