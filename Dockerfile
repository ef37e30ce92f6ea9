# syntax=docker/dockerfile:1

# invoiced in a container: a static, stripped binary on distroless, run as a
# non-root user.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t invoiced .
#   docker run --rm invoiced version
#
# The image runs `invoiced serve`. Inside a container its default --addr
# (127.0.0.1:8080) is reachable from nowhere else, and any other address needs
# API keys (docs/SECURITY.md): README.md, "Run it in containers", has the
# command lines, and docker-compose.yml a whole cluster. deploy_test.go builds
# with this file's -ldflags and checks that the version is stamped.

# golang:1.26 follows the newest 1.26.x; go.mod needs 1.26.8 or newer, and the
# image's GOTOOLCHAIN=local will not download another toolchain.
ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X github.com/invoiced/invoiced/internal/infra/config.Version=${VERSION}" -o /out/invoiced . \
 && mkdir -p /out/data /out/keys

# distroless/static: CA certificates, /etc/passwd with nonroot (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/invoiced /invoiced
# The api role's read model, and the embedded JetStream store when no
# --nats-url is given. A new volume mounted here takes this directory's
# owner, so the non-root user can write.
COPY --from=build --chown=65532:65532 /out/data /data
# Where a deployment keeps the key that seals signing secrets, shared by its
# api and dispatcher processes (docker-compose.yml mounts a volume here).
COPY --from=build --chown=65532:65532 /out/keys /keys
ENV INVOICED_DATA=/data
VOLUME ["/data"]
USER 65532:65532
EXPOSE 8080
# Healthy while GET /readyz answers 200 at the address INVOICED_ADDR gives
# serve (127.0.0.1:8080 by default; on loopback when serve listens on every
# interface): give serve its address with INVOICED_ADDR rather than --addr, or
# a --url of the same port to the check. Exec form: distroless has no shell.
# Containers that run another command (secrets init, replay) are not services:
# disable the check for them (docker run --no-healthcheck).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/invoiced", "healthcheck"]
ENTRYPOINT ["/invoiced"]
CMD ["serve"]
