# syntax=docker/dockerfile:1
# The clawdstrike-edr application image: collector, processor, setup and simulate are its subcommands.
# Three stages: compile the TypeScript, install production dependencies alone, then a runtime with just those.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY core core
COPY engine engine
COPY transport transport
COPY sinks sinks
COPY transforms transforms
COPY collector collector
COPY processor processor
COPY simulator simulator
COPY setup setup
COPY console console
COPY cli cli
RUN npm run build

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY bin bin
# Data the commands read at run time: the bundled rules, the Kibana saved objects `setup` imports, schemas.
COPY rules rules
COPY intel intel
COPY frameworks frameworks
COPY dashboards dashboards
COPY schemas schemas
# The triage console's script and stylesheet, served from the package.
COPY console/ui console/ui
RUN mkdir -p /app/data /app/config && chown node:node /app/data
USER node
EXPOSE 8080 9464 8090
# A 64 MiB young generation (V8's default is 16): the collector and processor allocate a short-lived object
# graph per record, and fewer, larger scavenges made normalization + detection about 15 % faster (BENCHMARKS.md).
ENTRYPOINT ["node", "--max-semi-space-size=64", "bin/clawdstrike-edr.js"]
CMD ["--help"]
