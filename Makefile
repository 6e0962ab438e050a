# nettune — see README.md. `make demo` and `make test` are the quick start.
PREFIX ?= /usr/local
SWIFT ?= swift

.PHONY: build release test demo deps clean

deps:
	scripts/install-deps

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Unit and integration tests (integration tests need root: run `sudo make test`).
test:
	scripts/test

# The safe demo: everything happens inside throw-away network namespaces.
demo: release
	scripts/demo

clean:
	rm -rf .build
