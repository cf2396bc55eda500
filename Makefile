# The front door. `make run` and `make test` do all the set-up a fresh Debian 12
# machine needs (tools/bootstrap.sh installs the system packages).
BUILD ?= build
JOBS ?= 2
ENIGMA = $(BUILD)/enigma

.PHONY: all bootstrap build run test bench fresh-check install lint format asan valgrind fuzz faults clean

all: build

bootstrap:
	@sh tools/bootstrap.sh

$(BUILD)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENIGMA_WERROR=ON

build: bootstrap $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j$(JOBS) -- --no-print-directory

run: build
	$(ENIGMA) db start
	$(ENIGMA) migrate
	$(ENIGMA) run scripts/demo/load.lua
	$(ENIGMA) run examples/quickstart.lua
	$(ENIGMA) serve

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

bench: build
	$(ENIGMA) db start
	$(ENIGMA) run spec/bench/run.lua $(BUILD)

# PREFIX/bin/enigma, the Lua module (PREFIX/lib/lua/5.4, PREFIX/share/lua/5.4),
# PREFIX/share/enigma/{schema,scripts,examples} and the man page.
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# Style: clang-format (.clang-format) on the C sources, luacheck (.luacheckrc) on the
# Lua. Fails on any difference or finding and prints it; `make format` applies clang-format.
LINT_PACKAGES = lua-check clang-format-22
lint:
	@ENIGMA_EXTRA_PACKAGES="$(LINT_PACKAGES)" sh tools/bootstrap.sh
	@sh tools/lint.sh

format:
	@ENIGMA_EXTRA_PACKAGES="$(LINT_PACKAGES)" sh tools/bootstrap.sh
	@sh tools/lint.sh --format

# The tests again under AddressSanitizer and UndefinedBehaviorSanitizer, in a build
# (and with a test cluster) of their own.
ASAN_BUILD ?= build-asan
asan: bootstrap
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DENIGMA_SANITIZE=ON
	@cmake --build $(ASAN_BUILD) -j$(JOBS) -- --no-print-directory
	cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS)

# Every parser under libFuzzer with ASan/UBSan, FUZZ_SECONDS each (clang, installed here).
# New inputs go to build-fuzz/corpus/, never into the checked-in seeds.
FUZZ_SECONDS ?= 60
fuzz:
	@ENIGMA_EXTRA_PACKAGES="clang libclang-rt-14-dev" sh tools/bootstrap.sh
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENIGMA_FUZZ=ON
	cmake --build build-fuzz -j$(JOBS) --target fuzz_hex fuzz_pubkey fuzz_note fuzz_seal fuzz_keystore fuzz_json fuzz_sandbox
	@set -e; for f in build-fuzz/fuzz_*; do \
	  p=$${f##*/fuzz_}; mkdir -p build-fuzz/corpus/$$p build-fuzz/crashes/$$p; \
	  echo "fuzz $$p: $(FUZZ_SECONDS) s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=build-fuzz/crashes/$$p/ \
	    build-fuzz/corpus/$$p spec/fuzz/corpus/$$p 2>&1 | grep -E 'stat::number_of_executed_units|Done|ERROR|SUMMARY' || true; \
	  echo "  crashes: $$(ls build-fuzz/crashes/$$p | wc -l)"; \
	done

# Fault injection (spec/faults/): each harness kills commands with SIGKILL at random
# moments, FAULT_TRIALS times each, runs them again and checks the invariants. The *.sh
# ones (db start, migrate, racing starts) have their homes under BUILD/faults; jobs_kill.lua
# (serve and jobs run alternately, so 2 x FAULT_TRIALS: nothing doubled or missing) and
# ticker_spec (runners ticking agents: no activation ticks twice in an interval) run through
# ctest for its environment. `make test` runs each with a few trials.
FAULT_TRIALS ?= 50
faults: build
	@failed=""; for f in spec/faults/*.sh; do \
	  ENIGMA_BIN=$(abspath $(ENIGMA)) FAULT_TRIALS=$(FAULT_TRIALS) FAULT_DIR=$(abspath $(BUILD))/faults \
	    sh $$f || failed="$$failed $$f"; \
	done; \
	ENIGMA_FAULT_TRIALS=$$(( 2 * $(FAULT_TRIALS) )) ctest --test-dir $(BUILD) -R '^faults/jobs_kill$$' -V \
	  --output-on-failure --timeout 3600 || failed="$$failed spec/faults/jobs_kill.lua"; \
	ENIGMA_FAULT_TRIALS=$(FAULT_TRIALS) ctest --test-dir $(BUILD) -R '^lua/ticker_spec$$' \
	  --output-on-failure --timeout 3600 || failed="$$failed spec/ticker_spec.lua"; \
	if [ -n "$$failed" ]; then echo "faults: failed:$$failed"; exit 1; fi

# Stops the clusters of the build trees' test homes (as root their data may live in
# /var/lib/enigma, out of reach of the rm) and that of the enigma home, then removes the builds.
clean:
	-@for h in $(BUILD)/*-home $(ASAN_BUILD)/*-home $(BUILD)/faults*/*/*/ $(ASAN_BUILD)/faults*/*/*/; do \
	  [ -d "$$h" ] && [ -x $(ENIGMA) ] && ENIGMA_HOME="$$h" $(ENIGMA) db stop >/dev/null 2>&1; \
	done; true
	-$(ENIGMA) db stop 2>/dev/null
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz

# The C unit tests under valgrind's memcheck with leak checking, on the build in
# VALGRIND_BUILD, against a cluster of their own in VALGRIND_BUILD/valgrind-home (so
# neither ctest's nor `make run`'s is touched). Each test's output is in
# VALGRIND_BUILD/valgrind/NAME.log, and printed when it fails.
VALGRIND_BUILD ?= $(BUILD)
VALGRIND = valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9
valgrind:
	@$(MAKE) --no-print-directory build BUILD=$(VALGRIND_BUILD)
	@export ENIGMA_HOME="$(abspath $(VALGRIND_BUILD))/valgrind-home"; \
	unset ENIGMA_DATABASE_URL DATABASE_URL PGHOST PGDATABASE; \
	mkdir -p $(VALGRIND_BUILD)/valgrind; \
	$(VALGRIND_BUILD)/enigma db start >/dev/null && $(VALGRIND_BUILD)/enigma migrate >/dev/null || exit 1; \
	failed=""; \
	for t in $(VALGRIND_BUILD)/*_test; do \
	  name=$${t##*/}; log=$(VALGRIND_BUILD)/valgrind/$$name.log; start=$$(date +%s); \
	  if $(VALGRIND) $$t >$$log 2>&1; then result=ok; else result=FAILED; failed="$$failed $$name"; cat $$log; fi; \
	  echo "valgrind $$name: $$result ($$(( $$(date +%s) - start )) s)"; \
	done; \
	$(VALGRIND_BUILD)/enigma db stop >/dev/null; \
	if [ -n "$$failed" ]; then echo "valgrind: failed:$$failed"; exit 1; fi

# The README's two commands on a minimal Debian 12 made with debootstrap, as root with the
# checkout in /root/enigma (tools/fresh-debian.sh; slow, needs root and Debian's archive;
# not run by CI). It checks HEAD: commit first.
fresh-check:
	sh tools/fresh-debian.sh $(FRESH_DIR)
