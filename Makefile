# The README's commands. `make run` and `make test` create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)
export TICKET_DQ_LANDING ?= $(CURDIR)/data/landing
export TICKET_DQ_WAREHOUSE ?= $(CURDIR)/data/warehouse/ticket_dq.duckdb

.PHONY: venv browser run dev serve test bench clean

venv: $(STAMP)

# Reinstall when the dependency pins change. requirements.lock constrains the whole tree.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[test]'
	touch $(STAMP)

# The demo, end to end: generate the simulated landing area if it is empty; replay it into the live
# landing area delivery by delivery, with detection (every asset, on the clock of the moment) after each
# 4 hours of deliveries, so faults are caught as they land and complaints can be beaten; let the
# simulated handlers review the issues (an issue_events feed file, delivered like any other feed);
# materialize again so their answers reach dq.issues and the metrics; write the HTML report of every day.
SIMULATED ?= $(CURDIR)/data/simulated
run: $(STAMP)
	$(BIN)/ticket-dq simulate demo --out "$(SIMULATED)" --if-empty
	$(BIN)/ticket-dq replay --from "$(SIMULATED)" --to "$(TICKET_DQ_LANDING)" --detect step --step 4h --quiet
	$(BIN)/ticket-dq simulate handlers --landing "$(TICKET_DQ_LANDING)"
	$(BIN)/ticket-dq materialize --demo-clock
	$(BIN)/ticket-dq report

# The Dagster UI with sensors and schedules, on loopback, on an explicit clock: a simulated landing
# area (the demo) runs on a replay clock from the demo's time, never on the wall clock.
dev: $(STAMP)
	$(BIN)/ticket-dq dev --port 3000

# The triage page for issue handlers, on loopback; accounts from the file named by TICKET_DQ_ACCOUNTS
# (`ticket-dq accounts add NAME --team CS --file FILE`), with the demo's clock when replaying it.
serve: $(STAMP)
	$(BIN)/ticket-dq serve --demo-clock

# The browser tests drive Debian's Chromium through Playwright (Playwright's own browser download
# needs the internet; the Debian package comes from the registry), and the report and triage page
# screenshots need a CJK font (fonts-noto-cjk) to show Chinese instead of boxes. Installed once, when missing.
browser:
	@{ command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then SUDO=; \
	  elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then SUDO=sudo; \
	  else echo "make test needs Chromium and a CJK font for its browser tests: install the Debian packages 'chromium fonts-noto-cjk'"; exit 1; fi; \
	  echo "installing Debian's chromium and fonts-noto-cjk for the browser tests"; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

# loadscope: a module-scoped fixture (the make-run demo) runs once, on one worker.
# The tests' temp dirs (thousands of warehouses, Dagster instances and landing areas) go on a RAM disk
# when /dev/shm has 8 GiB free: no disk flush per DuckDB checkpoint or Dagster event, about 20 % off a
# run of every asset. The SIGKILL tests lose nothing by it: a killed process leaves the page cache as is.
TEST_TMPDIR ?= $(shell df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 && $$4 > 8388608 {print "/dev/shm"}')
test: $(STAMP) browser
	$(if $(TEST_TMPDIR),TMPDIR=$(TEST_TMPDIR)) $(BIN)/python -m pytest -n 2 --dist loadscope -q

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf data/warehouse/* data/landing/* data/simulated storage history schedules logs
