# Hearth: the two commands a fresh machine needs are `make run` and `make test`.
GO ?= go
LISTEN ?= 127.0.0.1:8080
DATA ?= ./data

.PHONY: run build web test test-short lint bench bench-sqlite-drivers clean

## run: build the web client, then serve on $(LISTEN) with SQLite in $(DATA)
run: web
	$(GO) run ./cmd/homeserver --listen $(LISTEN) --data $(DATA)

## build: build the web client and the binaries into bin/
build: web
	$(GO) build -o bin/homeserver ./cmd/homeserver
	$(GO) build -o bin/loadtest ./cmd/loadtest

## web: build the web client when its sources are present
web:
	@if [ -f web/package.json ]; then cd web && npm ci --no-audit --no-fund && npm run build; \
	else echo "web: no web client sources yet; serving the placeholder page in web/static"; fi

## test: vet, then every test with the race detector (PostgreSQL half too when reachable)
test:
	@command -v iptables >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		{ apt-get update -qq && apt-get install -y -qq iptables; } || echo "iptables missing: the partition tests will skip"; }
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

## test-short: the tests without the race detector, for a quick loop
test-short:
	$(GO) test -count=1 ./...

## lint: formatting, vet and staticcheck (fetched from the Go module proxy)
lint:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.6.1 ./...

## bench: Go benchmarks of the hot paths
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-sqlite-drivers: the driver comparison recorded in docs/benchmarks.md
bench-sqlite-drivers:
	./bench/sqlitedrivers/run.sh

clean:
	rm -rf bin
