# The two commands: `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORPUS ?= $(HOME)/.cache/techvet-corpus
TRUTH ?= ../shared/corpus/TRUTH.tsv
DEMO_APP := tests/fixtures/apps/drone_companion.apk

.PHONY: demo test lint eval fuzz bench bench-place bench-screen bench-fleet bench-traffic bench-report bench-serve bench-bulk serve screenshots clean

$(BIN)/techvet: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,serve,cluster]'
	@touch $@

demo: $(BIN)/techvet
	$(BIN)/techvet scan $(DEMO_APP) -v
	$(BIN)/techvet scan $(DEMO_APP) --format json -o demo-report.json -q
	$(BIN)/techvet scan $(DEMO_APP) --format html -o demo-report.html -q
	@echo "reports written to demo-report.json and demo-report.html (open it in a browser)"
	@echo; echo "== an iOS app (samples/ios_fixture.ipa, built by tests/ios_build.py with known contents) =="
	$(BIN)/techvet scan samples/ios_fixture.ipa
	@echo; echo "== a small fleet (samples/fleet.csv), the sample app as one aircraft's companion app =="
	$(BIN)/techvet fleet samples/fleet.csv -q || [ $$? -eq 1 ]  # exit 1: some aircraft grounded or restricted
	@echo; echo "== the fixture apps as a Parquet dataset (demo-dataset/), asked in SQL =="
	rm -rf demo-dataset
	$(BIN)/techvet scan tests/fixtures/apps --format parquet -o demo-dataset -q
	$(BIN)/techvet query demo-dataset "select parse_filename(a.source) as file, a.package, v.verdict, v.score, list(distinct s.vendor) filter (where s.vendor is not null) as sdk_vendors from apps a join verdicts v using (sha256) left join sdks s using (sha256) group by all order by v.score desc, file"

test: $(BIN)/techvet
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	$(BIN)/pytest -q

eval: $(BIN)/techvet
	$(BIN)/python tools/eval_corpus.py --corpus $(CORPUS) --truth $(TRUTH)

# Every reader under atheris: FUZZ_RUNS inputs each, or FUZZ_TIME seconds, whichever comes first;
# crashing inputs are saved in fuzz/crashes/. `make test` runs a one-minute smoke of the same.
FUZZ_RUNS ?= 100000
FUZZ_TIME ?= 1800
fuzz: $(BIN)/techvet
	$(BIN)/python tools/fuzz.py --all --runs $(FUZZ_RUNS) --max-time $(FUZZ_TIME)

# Peers whose pinned dependencies conflict get one virtual environment each.
BENCH_VENVS := .venv-bench
$(BENCH_VENVS)/.ready: $(BIN)/techvet
	$(PYTHON) -m venv $(BENCH_VENVS)/androguard && $(BENCH_VENVS)/androguard/bin/pip install --quiet androguard==4.1.4
	$(PYTHON) -m venv $(BENCH_VENVS)/exodus && $(BENCH_VENVS)/exodus/bin/pip install --quiet exodus-core==1.3.15
	$(PYTHON) -m venv $(BENCH_VENVS)/apkid && $(BENCH_VENVS)/apkid/bin/pip install --quiet apkid==3.2.0
	$(PYTHON) -m venv $(BENCH_VENVS)/stix2 && $(BENCH_VENVS)/stix2/bin/pip install --quiet stix2==3.0.1
	$(PYTHON) -m venv $(BENCH_VENVS)/lief && $(BENCH_VENVS)/lief/bin/pip install --quiet lief==0.17.6
	@touch $@

bench: $(BENCH_VENVS)/.ready
	$(BIN)/python bench/scan.py --corpus $(CORPUS)

bench-place: $(BIN)/techvet
	$(BIN)/pip install --quiet publicsuffixlist==1.1.2.20261023 pyasn==1.6.2
	$(BIN)/python bench/place.py

$(BENCH_VENVS)/nomenklatura/.ready: $(BIN)/techvet
	$(PYTHON) -m venv $(BENCH_VENVS)/nomenklatura && $(BENCH_VENVS)/nomenklatura/bin/pip install --quiet nomenklatura==4.17.4
	@touch $@

bench-screen: $(BENCH_VENVS)/nomenklatura/.ready
	$(BIN)/python bench/screen.py

bench-fleet: $(BIN)/techvet
	$(BIN)/python bench/fleet.py

bench-traffic: $(BIN)/techvet
	$(BIN)/python bench/traffic.py

bench-bulk: $(BIN)/techvet
	$(BIN)/python bench/bulk.py --corpus $(CORPUS)

# The team service on ./techvet-data at 127.0.0.1:8000. On first use: an admin (its API token in
# techvet-data.token) and the bundled samples (the demo app, samples/fleet.csv) uploaded once started.
serve: $(BIN)/techvet
	@if [ ! -f techvet-data.token ]; then \
	  password=$$(head -c 24 /dev/urandom | base64 | tr -d '/+='); \
	  printf '%s\n' "$$password" | $(BIN)/techvet users add admin --role admin --password-stdin \
	    --data techvet-data > techvet-data.token || exit 2; \
	  printf '%s\n' "$$password" > techvet-data.password; chmod 600 techvet-data.token techvet-data.password; \
	  echo "admin token in techvet-data.token; in a browser, http://127.0.0.1:8000/ as admin with the password in techvet-data.password"; \
	  $(BIN)/python tools/seed_service.py --token-file techvet-data.token --app $(DEMO_APP) --fleet samples/fleet.csv & \
	fi; \
	$(BIN)/techvet serve --data techvet-data

bench-serve: $(BIN)/techvet
	$(BIN)/python bench/serve.py

bench-report: $(BIN)/techvet
	$(BIN)/python bench/report.py --corpus $(CORPUS)

# The HTML report of the demo app, photographed by Debian's headless Chromium (apt-get install chromium)
# at desktop and phone widths; the pictures are committed under docs/ and shown in the README.
CHROMIUM_FLAGS := --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync
screenshots: $(BIN)/techvet
	$(BIN)/techvet scan $(DEMO_APP) --format html -o docs/demo-report.html
	chromium $(CHROMIUM_FLAGS) --window-size=1280,1700 \
	  --screenshot=docs/report-desktop.png file://$(CURDIR)/docs/demo-report.html
	chromium $(CHROMIUM_FLAGS) --window-size=390,1400 \
	  --screenshot=docs/report-phone.png file://$(CURDIR)/docs/demo-report.html
	# the service's pages at 1280 and 390 px, taken by their browser tests (tests/test_pages_browser.py)
	TECHVET_SCREENSHOTS=$(CURDIR)/docs/pages $(BIN)/pytest -q tests/test_pages_browser.py

clean:
	rm -rf $(VENV) .venv-bench demo-report.json demo-dataset .pytest_cache .mypy_cache .ruff_cache
