# crit: `make demo` runs the main job on the default model, `make test` runs
# every test. Both install what is missing first. One cargo profile
# (release) serves build, tests, demo and benchmarks, so llama.cpp is
# compiled once.

CARGO ?= cargo
BIN := target/release/crit
DEMO_TASKS ?= data/demo.jsonl
DEMO_SESSION ?= demo

.PHONY: all deps test-deps build model tools demo test bench soak fmt lint

all: build

deps:
	@scripts/deps.sh

# Only the tests need a browser (the audit's HTML report is opened headless).
test-deps:
	@scripts/browser-deps.sh

build: deps
	$(CARGO) build --release

model: build
	@$(BIN) model fetch >/dev/null

# Generate all three kinds for the sample tasks (resumable: a second run
# skips what is recorded), then open the review UI on that session.
demo: model
	$(BIN) generate $(DEMO_TASKS) --session $(DEMO_SESSION)
	$(BIN) review $(DEMO_SESSION)

# llama.cpp's own llama-server and llama-bench, built once from the
# llama-cpp-python source distribution and cached outside the clone
# (~/.cache/crit/tools): the remote-backend tests run against the server.
tools: deps
	@scripts/llama-tools.sh

test: model tools test-deps
	$(CARGO) test --release

# With llama.cpp's own llama-bench beside it (LLAMA_BENCH), crit bench sets
# llama.cpp's figures at the same depth and threads next to its own. Then
# the same tasks through llama.cpp's llama-server (started and stopped by
# the script, never while the local bench runs): cached / uncached.
bench: model tools
	LLAMA_BENCH=$$(scripts/llama-tools.sh --print-dir)/llama-bench $(BIN) bench
	scripts/bench-server.sh
	$(CARGO) bench --bench export
	$(CARGO) bench --bench render
	$(CARGO) bench --bench audit
	$(BIN) eval-assist data/samples/prm800k.jsonl --skip-invalid --limit 4

# Not part of `make test`: kill import, export and generate SOAK_RUNS times
# each at random moments and check no session, event or file was damaged.
SOAK_RUNS ?= 100
soak: model
	SOAK_RUNS=$(SOAK_RUNS) $(CARGO) bench --bench soak

fmt:
	$(CARGO) fmt

lint:
	$(CARGO) clippy --release --all-targets -- -D warnings
