# The image of every ssdk service in docker-compose.yml (the planner, the deploy job, the
# operators): this repository with its dependencies; the sources run as they are (bin/ssdk.js).
FROM node:20-bookworm-slim
WORKDIR /ssdk
COPY package.json package-lock.json ./
COPY apps ./apps
COPY libs ./libs
COPY tools ./tools
COPY bin ./bin
COPY examples ./examples
COPY tsconfig.base.json tsconfig.json nx.json ./
RUN npm ci --no-audit --no-fund
ENTRYPOINT []
CMD ["node", "bin/ssdk.js", "--help"]
