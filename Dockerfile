# syntax=docker/dockerfile:1
# Hearth homeserver image: the web client is built with Node, then embedded
# in a static Go binary (modernc.org/sqlite is pure Go, so CGO is off), run
# as a non-root user in a small Alpine image. Alpine rather than scratch or
# distroless because scheduled backups of a PostgreSQL homeserver call the
# operator's pg_dump, and the health check needs a client; keep the
# PostgreSQL client at the server's major version or newer.
#
#   docker build -t hearth .
#   docker run -p 8080:8080 -v hearth-data:/data \
#     -e HEARTH_SERVER_NAME=chat.example.org -e HEARTH_PUBLIC_URL=https://chat.example.org hearth
#
# The same image holds the Discord bridge (cmd/bridge, spec/bridge.md): run
# it with --entrypoint /usr/local/bin/bridge (docker-compose.yml's bridge).

FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/web/dist ./web/dist
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/homeserver ./cmd/homeserver \
	&& CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/bridge ./cmd/bridge

FROM alpine:3.22
RUN apk add --no-cache ca-certificates tzdata postgresql17-client \
	&& addgroup -S -g 10001 hearth \
	&& adduser -S -D -H -u 10001 -G hearth hearth \
	&& mkdir -p /data /backups \
	&& chown hearth:hearth /data /backups
COPY --from=build /out/homeserver /out/bridge /usr/local/bin/
USER 10001:10001
# Every flag is also an environment variable HEARTH_<NAME>; these make the
# container listen on all its interfaces and keep its data in the volume.
ENV HEARTH_LISTEN=0.0.0.0:8080 \
	HEARTH_DATA=/data \
	HEARTH_LOG_JSON=true
VOLUME ["/data"]
EXPOSE 8080
# /healthz says the process serves; /readyz (also the hearth_ready metric)
# says whether it should get traffic.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
	CMD wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/homeserver"]
