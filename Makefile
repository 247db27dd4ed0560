# Hearth: the two commands a fresh machine needs are `make run` and `make test`.
GO ?= go
LISTEN ?= 127.0.0.1:8080
DATA ?= ./data
# Browser tests drive Debian's Chromium; the npm registry's browser downloads are not used.
CHROMIUM ?= /usr/bin/chromium
CHROMIUM_INSTALL = apt-get install -y --no-install-recommends chromium fonts-noto-color-emoji
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run build web web-browser bots test test-web test-short lint fuzz bench bench-web bench-sqlite-drivers clean

## run: build the web client, then serve on $(LISTEN) with SQLite in $(DATA)
run: web
	$(GO) run ./cmd/homeserver --listen $(LISTEN) --data $(DATA)

## build: build the web client and the binaries into bin/
build: web
	$(GO) build -o bin/homeserver ./cmd/homeserver
	$(GO) build -o bin/loadtest ./cmd/loadtest

## web: build the web client when its sources are present
web:
	@if [ ! -f web/package.json ]; then echo "web: no web client sources yet; serving the placeholder page in web/static"; \
	elif ! command -v npm >/dev/null 2>&1; then echo "web: building the web client needs Node.js 20.19+ (or 22.12+) with npm; install it, then run make again"; exit 1; \
	else cd web && npm ci --no-audit --no-fund && npm run build; fi

## web-browser: Debian's Chromium for the browser tests, installed when missing (root with apt), else the command to run
web-browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "web-browser: installing Debian's chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(CHROMIUM_INSTALL) -qq; \
	else echo "web-browser: no Chromium at $(CHROMIUM); install it with: sudo $(CHROMIUM_INSTALL)"; exit 1; fi

## test-web: the web client's type check, unit tests and size budget, then its browser tests against two real homeservers
test-web: web web-browser
	cd web && npm run check && npm test && node scripts/size-budget.mjs
	$(GO) build -o bin/homeserver ./cmd/homeserver
	cd web && CHROMIUM_PATH=$(CHROMIUM) HEARTH_BIN=$(CURDIR)/bin/homeserver npx playwright test

## bench-web: the web client's benchmarks (the @perf browser runs; figures in docs/benchmarks.md)
bench-web: web web-browser
	cd web && node scripts/size-budget.mjs
	$(GO) build -o bin/homeserver ./cmd/homeserver
	cd web && HEARTH_PERF=1 CHROMIUM_PATH=$(CHROMIUM) HEARTH_BIN=$(CURDIR)/bin/homeserver npx playwright test

## bots: the packages of the bot-library harness (discord.js) that the bot tests run
bots:
	@if ! command -v npm >/dev/null 2>&1; then echo "bots: npm not found; the discord.js bot tests will skip (and fail under CI=true)"; \
	else cd bots/discordjs && npm ci --no-audit --no-fund || echo "bots: npm ci failed; the discord.js bot tests will try again in a temporary copy"; fi

## test: vet, then every test with the race detector (PostgreSQL half too when reachable), then the web client's tests
test: bots
	@command -v iptables >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		{ apt-get update -qq && apt-get install -y -qq iptables; } || echo "iptables missing: the partition tests will skip"; }
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...
	$(MAKE) test-web

## test-short: the tests without the race detector, for a quick loop
test-short:
	$(GO) test -count=1 ./...

## lint: formatting, vet and staticcheck (fetched from the Go module proxy)
lint:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.6.1 ./...

## fuzz: every Go fuzz target for $(FUZZTIME) each, $(FUZZPAR) at a time with one worker each (FUZZTIME=10m FUZZPAR=3 make fuzz; FUZZ="FuzzAct FuzzSniff" picks targets; logs in $(FUZZLOG)); a finding is written to the package's testdata/fuzz: fix it, keep the input, and record the time in docs/fuzzing.md
FUZZTIME ?= 1m
FUZZPAR ?= 1
FUZZLOG ?= /tmp/fuzz-logs
fuzz:
	FUZZ="$(FUZZ)" FUZZTIME=$(FUZZTIME) FUZZPAR=$(FUZZPAR) FUZZLOG=$(FUZZLOG) GO=$(GO) ./scripts/fuzz.sh

## bench: Go benchmarks of the hot paths
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-sqlite-drivers: the driver comparison recorded in docs/benchmarks.md
bench-sqlite-drivers:
	./bench/sqlitedrivers/run.sh

clean:
	rm -rf bin
