# Fuzz targets (tests/fuzz/README.md, docs/reliability.md), included by
# the GNUmakefile.  Everything is built with clang into build/fuzz: the
# sources with ASan+UBSan and libFuzzer's coverage hooks, each target
# twice: build/fuzz/fuzz/fuzz_NAME (libFuzzer) and build/fuzz/replay/
# fuzz_NAME (a plain program that replays files or directories).
#
#   make fuzz [FUZZ_SECONDS=30] [FUZZ_TARGETS="worker ring"]
#   make fuzz-build      build both variants of every target
#   make fuzz-corpus     seeds from ../shared/pcap into build/fuzz/corpus
#   make fuzz-replay     replay the committed corpora and regressions

FUZZ_BUILD   := build/fuzz
FUZZ_CC      ?= clang
FUZZ_TARGETS ?= worker broker subscription config ring dns_answer
FUZZ_SECONDS ?= 30
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SUBMAKE := $(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
                OPTFLAGS="-O1 -g -fno-omit-frame-pointer" \
                HARDEN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link -fPIE" SANLDFLAGS="$(FUZZ_SAN)"
FUZZ_BINS    := $(foreach t,$(FUZZ_TARGETS),$(FUZZ_BUILD)/fuzz/fuzz_$(t) $(FUZZ_BUILD)/replay/fuzz_$(t))

.PHONY: fuzz fuzz-build fuzz-corpus fuzz-replay
fuzz-build:
	+$(FUZZ_SUBMAKE) fuzz-binaries

fuzz-corpus: fuzz-build
	tests/fuzz/make-corpus.sh

fuzz-replay: fuzz-build
	tests/fuzz/replay-corpus.sh

fuzz: fuzz-corpus
	tests/fuzz/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Inside the sub-make (BUILD=build/fuzz): the harnesses see the private
# headers of the processes they drive.
.PHONY: fuzz-binaries
fuzz-binaries: $(FUZZ_BINS)
$(BUILD)/obj/tests/fuzz/%.o: CFLAGS += -Icapture -Idpi-worker -Ibroker
FUZZ_FIXTURE := $(BUILD)/obj/tests/fuzz/broker_fixture.o
.PRECIOUS: $(BUILD)/obj/tests/fuzz/%.o
$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_FIXTURE) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(FUZZ_FIXTURE) $(LIBS) $(LDLIBS)
$(BUILD)/replay/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/fuzz_main.o \
                        $(FUZZ_FIXTURE) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/obj/tests/fuzz/fuzz_main.o $(FUZZ_FIXTURE) $(LIBS) $(LDLIBS)
