# clbench build. `make` builds build/clbench; `make test` installs missing
# Debian packages, builds and runs every test; `make check SAN=address,undefined`
# builds instrumented into a separate folder and runs the tests there.

CC       := gcc
PREFIX   ?= /usr/local
SAN      ?=
PKGS     := openblas gsl yaml-0.1 zlib
VERSION  := 0.1.0

ifeq ($(SAN),)
BUILD    ?= build
SANFLAGS :=
else
BUILD    ?= build-san
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# GSL's pkg-config adds -lgslcblas; drop it so OpenBLAS provides CBLAS.
PKG_LIBS   := $(filter-out -lgslcblas,$(shell pkg-config --libs $(PKGS) 2>/dev/null))
CRIT_FLAGS := $(shell pkg-config --cflags --libs criterion 2>/dev/null)
GIT_REV    := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

CPPFLAGS := -Iinclude -D_POSIX_C_SOURCE=200809L -DCL_VERSION='"$(VERSION)"' \
            -DCL_GIT_REV='"$(GIT_REV)"'
CFLAGS   := -std=c11 -O2 -g -Wall -Wextra -Werror -MMD -MP $(SANFLAGS) $(PKG_CFLAGS)
LDFLAGS  := $(SANFLAGS)
LDLIBS   := $(PKG_LIBS) -lm

# harness/ holds one folder a layer (README, Layout); main.c is the binary's.
MAIN_SRC := harness/cli/main.c
LIB_SRC  := $(sort $(filter-out $(MAIN_SRC),$(wildcard harness/*/*.c)) \
                   $(wildcard strategies/*.c) $(wildcard tasks/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(sort $(wildcard tests/*.c))
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/libclbench.a
BIN      := $(BUILD)/clbench
TESTBIN  := $(BUILD)/tests/unit

.PHONY: all run test check deps install clean bench parity fuzz
all: $(BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Tests find the binary under test through this define.
$(BUILD)/obj/tests/%.o: CPPFLAGS += -DCL_TEST_BIN='"$(BUILD)/clbench"'

# The hot elementwise loops (optimiser, backward passes, knn distances,
# episodic adaptation, EWC penalties, decoding byte-held inputs) vectorise
# only at -O3, sqrtf only without errno and compare-and-select only without
# trapping math (nothing reads FP exception flags). No reassociation: every value is as at -O2 (tests/test_model.c
# checks the optimiser bit for bit). They rebuild when these flags change.
HOT_OBJ := $(addprefix $(BUILD)/obj/,harness/nn/mlp.o harness/nn/gpt.o harness/nn/optim.o harness/nn/knn.o harness/nn/adapt.o \
                                  harness/store/task.o strategies/ewc.o)
$(HOT_OBJ): CFLAGS += -O3 -fno-math-errno -fno-trapping-math
$(HOT_OBJ): Makefile

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/obj/harness/cli/main.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(TESTBIN): $(TEST_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) $(CRIT_FLAGS) -o $@

# Installs the Debian packages pkg-config cannot find (apt-get; sudo when not root).
deps:
	@sh .ci/deps

# Runs the default experiment and prints its table.
run:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory $(BIN)
	$(BIN) --strategy naive --suite seq-tasks

# Installs missing dependencies, builds and runs every test.
test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory check

check: $(BIN) $(TESTBIN)
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp CL_THREADS=1 $(TESTBIN) --jobs 2

# Runs a 4-cell `clbench sweep --slurm --submit` through a real one-node Slurm
# that tests/slurm/run.sh starts and stops (root; Debian slurm-wlm and munge;
# exit 77 when those are missing).
.PHONY: test-slurm
test-slurm: $(BIN)
	sh tests/slurm/run.sh $(BIN)

# clbench against PyTorch, OpenBLAS sgemm and FAISS on the same work, one
# Markdown table on stdout (not part of `make test`; installs its peers,
# python3-torch and libfaiss-dev, when missing; about 10 minutes).
bench:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory $(BIN) $(LIB)
	sh bench/parity $(BUILD)
	sh bench/run $(BUILD)

# gpt against a PyTorch module of the same shape, weights and inputs: logits,
# gradient and one AdamW step within 1e-4 relative (installs python3-torch).
parity:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory $(LIB)
	sh bench/parity $(BUILD)

install: $(BIN) $(LIB)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/clbench
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libclbench.a
	for d in include/clbench/*/; do \
	    install -d $(DESTDIR)$(PREFIX)/$$d && install -m 644 $$d*.h $(DESTDIR)$(PREFIX)/$$d; done

clean:
	rm -rf build build-san

# libFuzzer targets tests/fuzz/fuzz_*.c (clang and libclang-rt-14-dev; not
# part of `make test`, whose unit tests replay the stored inputs): each is
# linked with ASan and UBSan against the library built the same way, then
# run for FUZZ_SECONDS on its seed corpus by tests/fuzz/run.sh, which prints
# a summary and fails if any target crashed. Everything goes to FUZZ_OUT.
FUZZ_OUT     ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := -std=c11 -g -O1 -Wall -MMD -MP -fno-omit-frame-pointer $(PKG_CFLAGS) \
                -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OBJ     := $(LIB_SRC:%.c=$(FUZZ_OUT)/clang/%.o)

$(FUZZ_OUT)/clang/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/clang/libclbench.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_OUT)/bin/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OUT)/clang/libclbench.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -DCL_FUZZ_LIBFUZZER $(FUZZ_CFLAGS) -fsanitize=fuzzer $< \
	    $(FUZZ_OUT)/clang/libclbench.a $(LDLIBS) -o $@

fuzz: $(FUZZ_NAMES:%=$(FUZZ_OUT)/bin/fuzz_%)
	sh tests/fuzz/run.sh $(FUZZ_OUT) $(FUZZ_SECONDS) $(FUZZ_NAMES)

-include $(FUZZ_OBJ:.o=.d)
-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/obj/harness/cli/main.d
