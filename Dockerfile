# ovn-plug-agent image: multi-stage build, small Debian runtime with iproute2 (devlink).
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz (deploy/helm/ovn-plug-agent).
#   docker build -t ovn-plug-agent:dev .
# The current Node LTS on Debian 12. The same release is what `bash scripts/test.sh` runs the unit and
# end-to-end agent tests on (scripts/node-lts.sh; test/unit/node-lts-pin.test.ts keeps both equal).
ARG NODE_IMAGE=node:26.12.1-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
# iproute2 provides `devlink` for the representor provider.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# package.json marks dist/ as ES modules ("type": "module").
COPY package.json ./
# A 1 MiB young generation keeps RSS near the live heap (ADR 0083: 10,000 plugged ports ~120 MB
# instead of ~220 MB with Node's defaults); the chart sets the same through agent.nodeOptions.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=1
# `ovn-plug-agent` on the PATH, so that `kubectl exec <pod> -- ovn-plug-agent status` works as the
# chart's NOTES say (test/integration/deploy-image-layout.test.ts replays this step on a built tree).
RUN chmod 0755 /app/dist/src/agent/cli.js \
 && ln -s /app/dist/src/agent/cli.js /usr/local/bin/ovn-plug-agent
# Non-root by default (uid 1000, the image's `node` user). The Helm chart runs the agent as root
# with only CAP_NET_ADMIN because devlink needs it and a non-root process does not receive
# capabilities in a container; the chart's uninstall hook and dummy-only setups run as this user.
USER node
ENTRYPOINT ["/usr/local/bin/ovn-plug-agent"]
CMD ["run"]
LABEL org.opencontainers.image.title="ovn-plug-agent" \
      org.opencontainers.image.description="Plugs VIFs for OVN logical ports through plug providers" \
      org.opencontainers.image.licenses="Apache-2.0"
