# syntax=docker/dockerfile:1
#
# Tributary: one static binary in a FROM scratch image, with CA certificates, time-zone
# data, a non-root user (nonroot, 65532) and a writable home (/home/nonroot).
#
# Without registry access (CI does this; podman or docker):
#   scripts/image [IMAGE]           # or: make image
# It builds the binary on the host (scripts/image-rootfs) and builds the final stage
# below with --build-context build=DIR, so the golang stage is skipped and nothing is
# pulled. With registry access, the golang stage runs the same script:
#   docker build -t tributary --build-arg VERSION=1.0.0 --build-arg COMMIT=$(git rev-parse --short HEAD) .
# Both produce the same final stage; there is no other.
#
# Distributed worker (Kafka Connect's connect-distributed; the worker file may be a
# connect-distributed.properties as is):
#   docker run -p 8083:8083 -v $PWD/worker.properties:/etc/tributary/worker.properties tributary
# Standalone with the REST API (offsets in the home directory; mount a volume there to keep
# them across containers):
#   docker run -p 8083:8083 -v $PWD/conf:/etc/tributary -v tributary-home:/home/nonroot tributary \
#     standalone -c /etc/tributary/worker.yaml -c /etc/tributary/connector.yaml --rest 0.0.0.0:8083
#
# Set rest.advertised.host.name (e.g. to the pod IP) in distributed mode so that workers can
# forward requests to the leader. Kubernetes manifests and a Helm chart: deploy/.
#
# There is no HEALTHCHECK: the image has neither a shell nor curl. Probe over HTTP instead,
# on the REST listener (or on metrics.port when the REST API is off):
#   livenessProbe:  {httpGet: {path: /healthz, port: 8083}, periodSeconds: 10}
#   readinessProbe: {httpGet: {path: /readyz, port: 8083}, periodSeconds: 5}
# /healthz answers 200 while the process serves; /readyz answers 200 once the worker has joined
# its group and every task assigned to it is running, 503 with the reason otherwise.
# Prometheus metrics are on GET /metrics of the same port.

FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
RUN if [ ! -s /etc/ssl/certs/ca-certificates.crt ] || [ ! -d /usr/share/zoneinfo/Europe ]; then \
      apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata; fi
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG TARGETOS=linux
ARG TARGETARCH
RUN VERSION="$VERSION" COMMIT="$COMMIT" GOOS="$TARGETOS" GOARCH="$TARGETARCH" scripts/image-rootfs /out

# The image. scripts/image builds exactly this stage from a directory laid out as /out is above.
FROM scratch
ARG VERSION=dev
COPY --from=build --chown=0:0 /out/rootfs/ /
COPY --from=build --chown=65532:0 /out/home/ /home/
ENV HOME=/home/nonroot
# Standalone mode keeps offsets in ./tributary-offsets.json by default, i.e. in the home.
WORKDIR /home/nonroot
USER 65532:65532
EXPOSE 8083
LABEL org.opencontainers.image.title="tributary" \
      org.opencontainers.image.description="Debezium-compatible change data capture without Kafka Connect" \
      org.opencontainers.image.version="$VERSION"
ENTRYPOINT ["/usr/local/bin/tributary", "--log-format", "json"]
CMD ["distributed", "-c", "/etc/tributary/worker.properties"]
