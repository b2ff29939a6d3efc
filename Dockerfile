# The image every ssdk service of a compose stack runs (`ssdk compose`): the planner, the deploy
# job, the operators, the dashboard. Node 20 (the project's), the packed `ssdk` package
# (compiled JS) with its production dependencies only, not root. Its build context is made on
# the host:
#
#   npm run docker:image     # tools/docker/image.sh: npm run package, npm install --omit=dev of the tarball, docker build
FROM node:20-bookworm-slim
COPY node_modules /opt/ssdk/node_modules
# `ssdk` and `ssdk-dashboard` on the PATH; the component cache a compose volume mounts belongs to
# the user that writes it.
ENV PATH=/opt/ssdk/node_modules/.bin:$PATH NODE_ENV=production
RUN mkdir -p /var/cache/ssdk/components && chown node:node /var/cache/ssdk/components
# ssdk's engine components (one per world, built by image.sh): a stack's component volume starts
# as a copy of this folder, so no container compiles the engine.
COPY --chown=node:node components /var/cache/ssdk/components
USER node
WORKDIR /home/node
CMD ["ssdk", "--help"]
