# aha — reasoning RL for language models, in C.
#   make            build ./aha (optimised; probes OpenMP and OpenBLAS)
#   make test       build everything and run tests/run.sh
#   make debug      build ./aha-debug and the tests with ASan + UBSan
#   make fuzz       build the libFuzzer targets (clang)
# Opt-outs: NO_OMP=1, NO_BLAS=1, NO_DNNL=1, NO_MPI=1, PORTABLE=1 (no -march=native).

CC      ?= gcc
OPT     ?= -O2
CFLAGS  ?=
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Isrc -MMD -MP
# libm need not set errno and FP operations need not trap: lets sqrtf and
# friends vectorize (AdamW, norms) and compares become selects (kernels/vexp.h).
CFLAGS  += -fno-math-errno -fno-trapping-math
LDLIBS  += -lpcre2-8 -lutf8proc -lcjson -lm -lpthread
BUILD   ?= build
SAN     ?=
CFLAGS  += $(SAN)
LDFLAGS += $(SAN)

ifndef PORTABLE
  CFLAGS += -march=native
endif

# ---- OpenMP probe
ifndef NO_OMP
  HAVE_OMP := $(shell echo 'int main(void){return 0;}' | $(CC) -fopenmp -x c - -o /dev/null 2>/dev/null && echo 1)
  ifeq ($(HAVE_OMP),1)
    CFLAGS += -fopenmp
    LDFLAGS += -fopenmp
    $(info ✓ OpenMP found)
  else
    $(info ✗ OpenMP not found: single-threaded build)
  endif
else
  $(info ✗ OpenMP disabled (NO_OMP=1))
endif

# ---- OpenBLAS probe (prefer Debian's OpenMP build: one thread pool)
ifndef NO_BLAS
  BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
  BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null)
  ifneq ($(BLAS_LIBS),)
    CFLAGS += -DAHA_BLAS $(BLAS_CFLAGS)
    LDLIBS += $(BLAS_LIBS)
    $(info ✓ OpenBLAS found ($(BLAS_LIBS)))
  else
    $(info ✗ OpenBLAS not found: using the plain matmul)
  endif
else
  $(info ✗ OpenBLAS disabled (NO_BLAS=1): using the plain matmul)
endif

# ---- MPI probe (OpenMPI from Debian: data-parallel ranks; without it, one rank)
ifndef NO_MPI
  MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null)
  MPI_LIBS   := $(shell pkg-config --libs ompi-c 2>/dev/null)
  ifneq ($(MPI_LIBS),)
    CFLAGS += -DAHA_MPI $(MPI_CFLAGS)
    LDLIBS += $(MPI_LIBS)
    $(info ✓ MPI found ($(MPI_LIBS)))
  else
    $(info ✗ MPI not found: one rank)
  endif
else
  $(info ✗ MPI disabled (NO_MPI=1): one rank)
endif

# ---- oneDNN probe (Debian's libdnnl-dev: matmuls on its primitives)
ifndef NO_DNNL
  HAVE_DNNL := $(shell printf '\043include <oneapi/dnnl/dnnl.h>\nint main(void){return dnnl_version() == 0;}\n' | $(CC) -x c - -ldnnl -o /dev/null 2>/dev/null && echo 1)
  ifeq ($(HAVE_DNNL),1)
    CFLAGS += -DAHA_DNNL
    LDLIBS += -ldnnl
    $(info ✓ oneDNN found)
  else
    $(info ✗ oneDNN not found: matmuls on OpenBLAS or the plain loop)
  endif
else
  $(info ✗ oneDNN disabled (NO_DNNL=1))
endif

# Objects rebuild when the compile settings change (a NO_DNNL=1 build after a
# oneDNN one, say): the stamp is rewritten only when its text differs.
FLAGS_STAMP := $(BUILD)/flags.stamp
$(shell mkdir -p $(BUILD) && echo '$(CC) $(CFLAGS) $(OPT) $(LDLIBS)' | cmp -s - $(FLAGS_STAMP) || echo '$(CC) $(CFLAGS) $(OPT) $(LDLIBS)' > $(FLAGS_STAMP))

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all test debug fuzz bench clean
all: aha

aha: $(CLI_OBJ) $(BUILD)/libaha.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libaha.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(OPT) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(BUILD)/libaha.a $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(OPT) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libaha.a $(LDLIBS)

# Tests of the command line (tests/test_cli_*.c) link the commands too, not main().
CMD_OBJ := $(filter-out $(BUILD)/src/cli/main.o,$(CLI_OBJ))
$(BUILD)/tests/test_cli_%: tests/test_cli_%.c $(CMD_OBJ) $(BUILD)/libaha.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(OPT) -Itests $(LDFLAGS) -o $@ $< $(CMD_OBJ) $(BUILD)/libaha.a $(LDLIBS)

tests: aha $(TEST_BIN)

# The tests run the C unit tests under ASan + UBSan, the reference tests
# against the optimised ./aha, and each fuzz target for FUZZ_SECONDS.
test: tests debug fuzz
	@tests/run.sh

# ASan + UBSan build of everything, in its own folder.
debug:
	$(MAKE) BUILD=build-debug OPT="-O1 -g -fno-omit-frame-pointer" \
	        SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" aha-debug build-debug-tests

aha-debug: $(CLI_OBJ) $(BUILD)/libaha.a
	$(CC) $(OPT) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build-debug-tests: $(TEST_BIN)

# libFuzzer targets: clang, ASan + UBSan, the whole library rebuilt for them.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Isrc -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(BLAS_CFLAGS)
fuzz:
	@if command -v clang >/dev/null; then \
	  $(MAKE) CC=clang BUILD=build-fuzz NO_OMP=1 PORTABLE=1 OPT="-g -O1 -Wno-psabi" SAN="-fsanitize=fuzzer-no-link,address,undefined" build-fuzz/libaha.a && \
	  mkdir -p build-fuzz/fuzz && for f in $(FUZZ_SRC); do \
	    n=$$(basename $$f .c); \
	    clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o build-fuzz/fuzz/$$n $$f build-fuzz/libaha.a $(LDLIBS) $(BLAS_LIBS) || exit 1; \
	  done; \
	else echo "clang not found: fuzz targets not built"; fi

# Benchmarks (run by hand): bench/*.c, each a program linked with libaha.
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
bench: $(BENCH_BIN)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libaha.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(OPT) $(LDFLAGS) -o $@ $< $(BUILD)/libaha.a $(LDLIBS)

clean:
	rm -rf build build-debug build-fuzz aha aha-debug

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
