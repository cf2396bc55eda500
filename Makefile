# The front door. `make run` and `make test` do all the set-up a fresh Debian 12
# machine needs (tools/bootstrap.sh installs the system packages).
BUILD ?= build
JOBS ?= 2
ENIGMA = $(BUILD)/enigma

.PHONY: all bootstrap build run test bench asan valgrind clean

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

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

bench: build
	$(ENIGMA) db start
	$(ENIGMA) run spec/bench/run.lua $(BUILD)

# The tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
asan: bootstrap
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DENIGMA_SANITIZE=ON
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j$(JOBS)

clean:
	-$(ENIGMA) db stop 2>/dev/null
	rm -rf $(BUILD) build-asan

# The C unit tests under valgrind's leak checker, against the test cluster.
valgrind: build
	ENIGMA_HOME=$(BUILD)/test-home $(ENIGMA) db start
	@set -e; for t in $(BUILD)/*_test; do \
	  echo "valgrind $$t"; \
	  ENIGMA_HOME=$(BUILD)/test-home valgrind -q --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect --error-exitcode=9 $$t; \
	done
	ENIGMA_HOME=$(BUILD)/test-home $(ENIGMA) db stop
