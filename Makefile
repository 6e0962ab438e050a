# nettune — see README.md. `sudo make demo` and `sudo make test` are the quick start.
PREFIX ?= /usr/local
DESTDIR ?=
# The build to install: release (default) or debug (the tests reuse their build).
CONFIG ?= release
SWIFT ?= swift

# The version is written once, in the source; the man page and packages take it from there.
VERSION := $(shell sed -n 's/.*static let current = "\(.*\)"/\1/p' Sources/NetTune/Support/Version.swift)
BUILD_DIR = $(shell $(SWIFT) build -c $(CONFIG) --show-bin-path)
BIN = $(BUILD_DIR)/nettune
MAN_OUT = .build/plugins/GenerateManual/outputs/nettune
COMPLETIONS = .build/completions

BINDIR = $(DESTDIR)$(PREFIX)/bin
SHAREDIR = $(DESTDIR)$(PREFIX)/share
MANDIR = $(SHAREDIR)/man/man1
UNITDIR = $(DESTDIR)$(PREFIX)/lib/systemd/system

.PHONY: all build release test demo deps man completions install uninstall bench fuzz format clean report-example test-fleet

all: release

deps:
	scripts/install-deps

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Unit and integration tests, then the packaging checks (integration tests need root).
test:
	scripts/test

# Rewrites the sources in the project's style (.swift-format); `make test` fails on any
# difference, so run this before committing.
FORMAT_PATHS = Package.swift Sources Tests Fuzz/Package.swift Fuzz/Sources
format:
	$(SWIFT) format -i -r $(FORMAT_PATHS)

# The Ansible role run for real against three namespaces with sshd (needs root; ~1 min).
test-fleet:
	scripts/test-fleet

# The safe demo: everything happens inside throw-away network namespaces.
demo: release
	scripts/demo

# The README's report picture, measured for real in a lab (needs root and Chromium).
report-example: release
	scripts/report-example

bench: release
	bench/vs-iperf3

# Each fuzz target for FUZZ_SECONDS (default 60) on its seed corpus (Fuzz/Corpus).
FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz $(FUZZ_SECONDS)

# The man page and completions are generated from the argument parser, not written by hand.
man:
	$(SWIFT) package generate-manual --configuration $(CONFIG)
	sed -i 's/^\.Os$$/.Os nettune $(VERSION)/' $(MAN_OUT)/nettune.1

completions:
	$(SWIFT) build -c $(CONFIG)
	mkdir -p $(COMPLETIONS)
	$(BIN) --generate-completion-script bash > $(COMPLETIONS)/nettune.bash
	$(BIN) --generate-completion-script zsh > $(COMPLETIONS)/_nettune
	$(BIN) --generate-completion-script fish > $(COMPLETIONS)/nettune.fish

install: man completions
	install -D -m 755 $(BIN) $(BINDIR)/nettune
	install -d $(SHAREDIR)/nettune/profiles
	install -m 644 profiles/*.toml $(SHAREDIR)/nettune/profiles/
	install -D -m 644 $(MAN_OUT)/nettune.1 $(MANDIR)/nettune.1
	install -D -m 644 README.md $(SHAREDIR)/doc/nettune/README.md
	install -D -m 644 CHANGELOG.md $(SHAREDIR)/doc/nettune/CHANGELOG.md
	install -D -m 644 $(COMPLETIONS)/nettune.bash $(SHAREDIR)/bash-completion/completions/nettune
	install -D -m 644 $(COMPLETIONS)/_nettune $(SHAREDIR)/zsh/site-functions/_nettune
	install -D -m 644 $(COMPLETIONS)/nettune.fish $(SHAREDIR)/fish/vendor_completions.d/nettune.fish
	install -d $(UNITDIR)
	for unit in contrib/systemd/*.service contrib/systemd/*.timer; do \
		sed 's|/usr/local/bin/nettune|$(PREFIX)/bin/nettune|g' $$unit > $(UNITDIR)/$$(basename $$unit); \
		chmod 644 $(UNITDIR)/$$(basename $$unit); \
	done

uninstall:
	rm -f $(BINDIR)/nettune $(MANDIR)/nettune.1
	rm -rf $(SHAREDIR)/nettune $(SHAREDIR)/doc/nettune
	rm -f $(SHAREDIR)/bash-completion/completions/nettune $(SHAREDIR)/zsh/site-functions/_nettune
	rm -f $(SHAREDIR)/fish/vendor_completions.d/nettune.fish
	rm -f $(UNITDIR)/nettune-serve.service $(UNITDIR)/nettune-apply@.service
	rm -f $(UNITDIR)/nettune-probe@.service $(UNITDIR)/nettune-probe@.timer

clean:
	rm -rf .build .build-fuzz
