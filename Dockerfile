# syntax=docker/dockerfile:1
# The clawdstrike-edr application image: collector, processor, setup and simulator are its subcommands.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY core core
COPY engine engine
COPY transport transport
COPY sinks sinks
COPY collector collector
COPY processor processor
COPY simulator simulator
COPY cli cli
RUN npm run build

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY bin bin
COPY rules rules
COPY dashboards dashboards
COPY schemas schemas
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080 9464
ENTRYPOINT ["node", "bin/clawdstrike-edr.js"]
CMD ["--help"]
