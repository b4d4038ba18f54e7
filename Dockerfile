# syntax=docker/dockerfile:1
#
# Tributary: one static binary on a distroless base.
#
#   docker build -t tributary --build-arg VERSION=1.0.0 --build-arg COMMIT=$(git rev-parse --short HEAD) .
#
# Distributed worker (Kafka Connect's connect-distributed; the worker file may be a
# connect-distributed.properties as is):
#   docker run -p 8083:8083 -v $PWD/worker.properties:/etc/tributary/worker.properties tributary
# Standalone with the REST API:
#   docker run -p 8083:8083 -v $PWD/conf:/etc/tributary tributary \
#     standalone -c /etc/tributary/worker.yaml -c /etc/tributary/connector.yaml --rest 0.0.0.0:8083
#
# Set rest.advertised.host.name (e.g. to the pod IP) in distributed mode so that workers can
# forward requests to the leader.
#
# There is no HEALTHCHECK: the image has neither a shell nor curl. Probe over HTTP instead,
# on the REST listener (or on metrics.port when the REST API is off):
#   livenessProbe:  {httpGet: {path: /healthz, port: 8083}, periodSeconds: 10}
#   readinessProbe: {httpGet: {path: /readyz, port: 8083}, periodSeconds: 5}
# /healthz answers 200 while the process serves; /readyz answers 200 once the worker has joined
# its group and every task assigned to it is running, 503 with the reason otherwise.
# Prometheus metrics are on GET /metrics of the same port.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.buildCommit=${COMMIT}" \
      -o /out/tributary ./cmd/tributary

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tributary /usr/local/bin/tributary
# Standalone mode keeps offsets in ./tributary-offsets.json by default; the nonroot user's
# home is writable (mount a volume there to keep offsets across containers).
WORKDIR /home/nonroot
USER nonroot:nonroot
EXPOSE 8083
ENTRYPOINT ["/usr/local/bin/tributary", "--log-format", "json"]
CMD ["distributed", "-c", "/etc/tributary/worker.properties"]
