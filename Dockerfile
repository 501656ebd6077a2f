# syntax=docker/dockerfile:1
#
#   docker build -t mikopbx-exporter .
#   docker run --rm -p 10745:10745 -e MIKOPBX_URL=https://pbx.example.com \
#     -e MIKOPBX_API_KEY_FILE=/run/secrets/api-key -v "$PWD/api-key:/run/secrets/api-key:ro" \
#     --read-only mikopbx-exporter
#
# Every stage uses the official Node 24 (LTS) Alpine image. The exporter's dependencies are plain
# JavaScript, so musl makes no difference to them.

FROM node:24-alpine AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the only install script in the tree belongs to the `node` devDependency (the
# Node runtime pinned for development), which would download a second, glibc-only Node binary that
# cannot run on Alpine. Skipped, no node_modules/.bin/node exists and `npm run build` runs tsc on
# the image's own Node 24.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-alpine AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; none of them has an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-alpine
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/mikopbx-exporter/mikopbx-exporter
LABEL org.opencontainers.image.title="mikopbx-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the MikoPBX phone system" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.url="${SOURCE}" \
      org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root and read-only for the exporter's user; nothing is written at run time,
# so the container runs with a read-only root filesystem and needs no writable volume.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# package.json is read at run time for the version (build_info and the landing page).
COPY package.json package-lock.json ./
# nobody:nobody, numeric so that Kubernetes can check runAsNonRoot.
USER 65534:65534
EXPOSE 10745
# Node only, no curl/wget. Follows LISTEN_ADDRESS/LISTEN_PORT and switches to HTTPS when the
# web config enables TLS (the certificate is not checked: this only asks the local process).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "const e=process.env,a=e.LISTEN_ADDRESS,t=!!e.WEB_CONFIG_FILE&&/^tls_server_config:/m.test(require('fs').readFileSync(e.WEB_CONFIG_FILE,'utf8'));require(t?'https':'http').get({host:!a||a==='0.0.0.0'||a==='::'?'127.0.0.1':a,port:e.LISTEN_PORT||10745,path:'/healthz',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
# The exporter handles SIGTERM itself (closes the server, exits 0), so no init process is needed.
# A young generation of at most 2 × 8 MB: V8 would otherwise grow it to 128 MB on a big PBX
# (docs/performance.md); costs no measurable CPU.
CMD ["node", "--max-semi-space-size=8", "dist/main.js"]
