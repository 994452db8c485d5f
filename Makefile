# staydown: `make demo` and `make test` on a fresh Debian 12 machine, as root.
# Both install what is missing (Debian packages, then .venv) and are idempotent.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# gcc, pkg-config and libsystemd-dev build pystemd; systemd-container gives
# systemd-nspawn for the lab; dbus runs inside the lab; shellcheck checks the
# generated scripts in the tests; util-linux has nsenter; time is /usr/bin/time
# for the benchmark; the tests check the man page with groff -ww (groff-base) and the
# zsh completion with zsh -n (zsh); openssh-server runs inside a lab for --host (the lab boots
# the host's /usr; the tests never start it on the host, but on a host whose init starts
# services on install, installing it starts the host's sshd as any install of it does),
# openssh-client and iproute2 (ip netns, ss) reach it; dbus-user-session and libpam-systemd give
# the lingering user in a lab its session bus and XDG_RUNTIME_DIR (--user tests); tmux is the
# 80x24 terminal of the wizard's screen captures and less the wizard's pager; mmdebstrap builds
# the lab's Debian OS trees from Debian's registry (debian-archive-keyring verifies them).
DEBS := gcc pkg-config libsystemd-dev python3-dev python3-venv systemd systemd-container \
        dbus util-linux shellcheck time groff-base zsh openssh-server openssh-client iproute2 \
        dbus-user-session libpam-systemd tmux less mmdebstrap debian-archive-keyring
# The OS trees the tests boot (docs/lab.md): built once, cached in /var/cache/staydown/os-trees.
TEST_OS_TREES := bookworm-server trixie sid
DEMO_LAB := demo
# Where staydown is used rather than developed (make install, make demo, make bench): a
# regular, non-editable install. An editable one's import hook costs every run several
# ms (docs/performance.md); the tests keep .venv's editable install.
APP := .venv-app
APP_BIN := $(APP)/bin
APP_SOURCES := pyproject.toml $(shell find wizard templates -type f -not -name '*.pyc' 2>/dev/null)
DEMO_DIR := demo-output

.PHONY: help deps debs venv install demo test lint typecheck pytest bench snapshots docs clean \
        os-trees sweep-real sweep-plans

help:
	@echo "make install  a regular (non-editable) install in $(APP); run $(APP_BIN)/staydown"
	@echo "make demo   boot a lab with the article's scenario and run the staydown wizard on it"
	@echo "make test   lint, type-check and run every test (real systemd in nspawn)"
	@echo "make bench  issue 13's targets, measured in labs (figures go to docs/performance.md)"
	@echo "make sweep-real  re-record the real-package ground truth (~45 min, tests/real_packages/)"
	@echo "make sweep-plans plan, run, provoke and undo every unit of the real-package lab (~40 min)"
	@echo "make docs   regenerate the man page, the shell completions and docs/wizard-screens/"

debs:
	@missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y --no-install-recommends $$missing \
	    || { apt-get update && apt-get install -y --no-install-recommends $$missing; }; \
	fi

$(BIN)/.installed: pyproject.toml | debs
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: debs $(BIN)/.installed

deps: venv

$(APP_BIN)/.installed: $(APP_SOURCES) | debs
	@test -x $(APP_BIN)/python || $(PYTHON) -m venv $(APP)
	$(APP_BIN)/python -m pip install --quiet --upgrade pip
	$(APP_BIN)/python -m pip install --quiet .
	$(APP_BIN)/python -m pip install --quiet --force-reinstall --no-deps .
	@touch $@

install: $(APP_BIN)/.installed

demo: install
	@mkdir -p $(DEMO_DIR)
	@$(APP_BIN)/staydown lab down --name $(DEMO_LAB) >/dev/null
	$(APP_BIN)/staydown lab up --name $(DEMO_LAB) --scenario article
	@echo; echo "# The article, replayed: stop the daemon and watch it come back."
	$(APP_BIN)/staydown lab exec --name $(DEMO_LAB) -- systemctl stop widget-daemon.service
	$(APP_BIN)/staydown lab exec --name $(DEMO_LAB) -- bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080'
	@sleep 1
	$(APP_BIN)/staydown lab exec --name $(DEMO_LAB) -- systemctl is-active widget-daemon.service
	@echo; echo "# Who brought it back? The wizard walks the article's steps and writes the fix."
	@cd $(DEMO_DIR) && if [ -t 0 ]; then \
	  $(CURDIR)/$(APP_BIN)/staydown --lab $(DEMO_LAB) widget-daemon.service --force; \
	else \
	  $(CURDIR)/$(APP_BIN)/staydown --lab $(DEMO_LAB) widget-daemon.service --yes --force; \
	fi; status=$$?; [ $$status -le 1 ] || exit $$status
	@echo
	@echo "The plan and its undo are in $(DEMO_DIR). The lab is still running. Explore it:"
	@echo "  $(APP_BIN)/staydown lab exec --name $(DEMO_LAB) -- systemctl list-dependencies --reverse widget-daemon.service"
	@echo "  $(APP_BIN)/staydown lab exec --name $(DEMO_LAB) -- bash -s < $(DEMO_DIR)/staydown-widget-daemon.service.sh"
	@echo "  $(APP_BIN)/staydown diagnose --lab $(DEMO_LAB) --json widget-daemon.service"
	@echo "Stop it with: $(APP_BIN)/staydown lab down --name $(DEMO_LAB)"

lint: deps
	$(BIN)/ruff check wizard docgen tests bench

typecheck: deps
	$(BIN)/mypy

# Builds the trees the lab tests boot, or reuses them when their package lists are unchanged.
os-trees: deps
	$(BIN)/python -m wizard.lab.os_trees $(TEST_OS_TREES)

pytest: deps os-trees
	STAYDOWN_REQUIRE_LAB=1 $(BIN)/pytest -q

test: lint typecheck pytest

snapshots: deps
	$(BIN)/python -m tests.record_snapshots

# Stop every unit of the bookworm-server tree and fire each candidate source
# for real; the results and staydown's snapshot of the lab are committed.
sweep-real: deps os-trees
	$(BIN)/python -m tests.real_packages.sweep \
	  --snapshot tests/real_packages/bookworm-server-booted.json

# Plan every loaded unit of the bookworm-server lab, run the script, fire every
# candidate source for 25 s, undo, compare every unit's state (docs/safety.md).
# SWEEP_LABS labs in parallel (at most 4; each unit's run is mostly waiting).
SWEEP_LABS ?= 3
sweep-plans: deps os-trees
	$(BIN)/python -m tests.real_packages.plan_sweep --labs $(SWEEP_LABS)

bench: deps install
	$(BIN)/python bench/diagnose_bench.py --staydown $(APP_BIN)/staydown

# share/: staydown(1) and the bash and zsh completions, generated from
# wizard.cli.parser.build_parser(); tests/test_cli_docs.py fails when they are stale.
# docs/wizard-screens/: the wizard walked in an 80x24 tmux on the article's lab (root);
# tests/test_lab_wizard_screens.py fails when they drift.
docs: deps
	$(BIN)/python -m docgen.cli_docs
	$(BIN)/python -m docgen.wizard_screens

clean:
	rm -rf $(VENV) $(APP) $(DEMO_DIR) build *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
