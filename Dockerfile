# syntax=docker/dockerfile:1
# gov-id: one image for every entity; a container serves one entity (`gov-id serve --entity ID`).
# See docs/operations.md.
#
# Two stages. `gov-id` runs the compiled JavaScript in dist/, which `npm run build` makes with
# TypeScript, a devDependency: the build stage installs every dependency and compiles; the
# runtime stage installs production dependencies only and takes dist/ from the build stage, so
# neither TypeScript nor any other dev dependency is in the image. (tsx is a production
# dependency: without an up-to-date dist/ the bin would run the sources through it, slower to
# start; the stamp below keeps the image on dist/.)

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the `node` devDependency would download a second Node, and the prepare
# script (the build) needs the sources, copied next.
RUN npm ci --ignore-scripts
COPY . .
RUN node scripts/build-dist.js

FROM node:22-bookworm-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts run (argon2 finds its prebuilt binary); the prepare script finds no TypeScript
# and only says so.
COPY scripts ./scripts
RUN npm ci --omit=dev && npm cache clean --force

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    GOV_ID_DATA=/var/lib/gov-id
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY . .
COPY --from=build /app/dist ./dist
# The bin uses dist/ only when its stamp is newer than every source file and folder (scripts/dist.js);
# COPY may date them later than the build, and they are the very sources dist/ was compiled from.
RUN touch dist/.built \
 && mkdir -p /var/lib/gov-id \
 && chown node:node /var/lib/gov-id
# The code stays root's and read-only to the service; only the data folder is its own.
USER node
VOLUME ["/var/lib/gov-id"]
# GOV_ID_PORT: where this container's entity listens (gov-id serve reads it as --port).
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "deploy/healthcheck.js"]
ENTRYPOINT ["node", "bin/gov-id.js"]
CMD ["help"]
