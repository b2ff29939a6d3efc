# The image every ssdk service of a compose stack runs (`ssdk compose`): the planner, the deploy
# job, the operators, the dashboard. Node 20 (the project's), production dependencies only, not
# root. Its build context is a staged production tree, made on the host:
#
#   npm run docker:image          # tools/docker/image.sh: stage dist/docker, npm ci --omit=dev, docker build
FROM node:20-bookworm-slim
WORKDIR /opt/ssdk
# Dependencies first: a change of sources alone rebuilds only the second layer.
COPY deps/ /opt/ssdk/
COPY app/ /opt/ssdk/
# `ssdk` on the PATH; the component cache a compose volume mounts belongs to the user that writes it.
RUN ln -s /opt/ssdk/bin/ssdk.js /usr/local/bin/ssdk \
 && mkdir -p /var/cache/ssdk/components \
 && chown node:node /var/cache/ssdk/components
ENV NODE_ENV=production
USER node
CMD ["ssdk", "--help"]
